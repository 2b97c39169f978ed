"""Export, inference and its preprocessing: a checkpoint -> a self-contained artifact -> scores.

    graph.py      the model as an ONNX graph (TorchScript fallback), checked against PyTorch
    manifest.py   manifest.json: inputs, outputs, and the exact preprocessing of raw features
    features.py   raw JSON rows and files -> model inputs, through the offline readers
    runtime.py    onnxruntime / torch.jit sessions over named numpy inputs
    predictor.py  Predictor: artifact -> scores, for `recstack predict` and `recstack serve`
    commands.py   `recstack export` and `recstack predict`
"""
