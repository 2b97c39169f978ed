// The demo page: fills the profile choices from /api/options, posts the chosen user or profile to
// /api/recommend and lists the movies. Query parameters (?user_id=5 or ?gender=F&age=25&occupation=student)
// pick the user and run at once, so a link (or a headless browser) shows a given user's recommendations.
"use strict";

const $ = (id) => document.getElementById(id);

function option(select, value, text) {
  const item = document.createElement("option");
  item.value = value;
  item.textContent = text;
  select.appendChild(item);
}

function request() {
  const mode = document.querySelector("input[name=mode]:checked").value;
  if (mode === "user") return { user_id: Number($("user_id").value) };
  return { profile: { gender: $("gender").value, age: Number($("age").value), occupation: $("occupation").value } };
}

function who(user) {
  const profile = `${user.gender}, ${user.age}, ${user.occupation}`;
  return user.user_id === null ? `a new user (${profile})` : `user ${user.user_id} (${profile}, ${user.rated} rated)`;
}

function show(movies) {
  const list = $("movies");
  list.replaceChildren();
  for (const movie of movies) {
    const item = document.createElement("li");
    item.className = "movie";
    item.dataset.movieId = movie.movie_id;
    const parts = [["title", movie.title], ["genres", movie.genres.join(", ")],
                   ["score", `like ${(100 * movie.like).toFixed(0)}% · score ${movie.score.toFixed(2)}`],
                   ["reason", movie.reason]];
    for (const [name, text] of parts) {
      const line = document.createElement("div");
      line.className = name;
      line.textContent = text;
      item.appendChild(line);
    }
    list.appendChild(item);
  }
}

async function recommend(event) {
  if (event) event.preventDefault();
  const status = $("status");
  status.className = "";
  status.textContent = "Loading…";
  const reply = await fetch("api/recommend", { method: "POST", headers: { "Content-Type": "application/json" },
                                               body: JSON.stringify(request()) });
  const body = await reply.json();
  if (!reply.ok) {
    status.className = "error";
    status.textContent = `${body.field ? body.field + ": " : ""}${body.detail}`;
    $("movies").replaceChildren();
    return;
  }
  status.textContent = `${body.movies.length} movies for ${who(body.user)}`;
  show(body.movies);
}

async function start() {
  const options = await (await fetch("api/options")).json();
  for (const gender of options.genders) option($("gender"), gender, gender === "F" ? "female" : "male");
  for (const occupation of options.occupations) option($("occupation"), occupation, occupation);
  $("user_id").min = options.user_ids[0];
  $("user_id").max = options.user_ids[1];
  $("form").addEventListener("submit", recommend);
  const query = new URLSearchParams(location.search);
  if (query.has("user_id")) {
    $("user_id").value = query.get("user_id");
  } else if (query.has("gender")) {
    document.querySelector("input[value=profile]").checked = true;
    $("gender").value = query.get("gender");
    $("age").value = query.get("age") || "25";
    $("occupation").value = query.get("occupation") || options.occupations[0];
  } else {
    return;
  }
  await recommend();
}

start().catch((error) => { $("status").className = "error"; $("status").textContent = String(error); });
