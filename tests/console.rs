//! The consoles over plain HTTP: sign-in and sessions, CSRF and origin
//! checks, roles, languages, the board's API, and the live feed. The
//! browser test (`console_browser`) drives the same pages in chromium.

mod support;

use reqwest::Method;
use reqwest::header::{ACCEPT_LANGUAGE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::{ADMIN, Server};

/// Every admin page: an agent must be refused each one.
const ADMIN_PAGES: [&str; 4] =
    ["/console/admin", "/console/admin/teams/ops", "/console/admin/users", "/console/admin/plugins"];

fn client() -> reqwest::Client {
    reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("client")
}

/// A signed-in browser: its cookie and its CSRF token.
struct Browser {
    cookie: String,
    csrf: String,
}

/// Signs in with `token` as a browser's form would.
async fn sign_in(s: &Server, token: &str) -> Browser {
    let answer = client()
        .post(format!("{}/console/sign-in", s.base))
        .header("user-agent", "TestBrowser/1.0")
        .form(&[("token", token)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(answer.status(), 303, "a good token signs in");
    assert_eq!(answer.headers()[LOCATION], "/console/board");
    let set = answer.headers()[SET_COOKIE].to_str().expect("cookie").to_owned();
    for part in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(set.contains(part), "the session cookie lacks {part}: {set}");
    }
    assert!(!set.contains("Secure"), "no Secure without TLS, or the browser would drop it: {set}");
    let cookie = set.split(';').next().expect("pair").to_owned();
    let page = client().get(format!("{}/console/board", s.base)).header(COOKIE, &cookie).send().await.expect("board");
    assert_eq!(page.status(), 200);
    let html = page.text().await.expect("html");
    let csrf = html
        .split("<meta name=\"csrf-token\" content=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the page carries the csrf token")
        .to_owned();
    Browser { cookie, csrf }
}

impl Browser {
    /// Calls the API as the console's scripts do.
    async fn api(&self, s: &Server, method: Method, path: &str, body: Option<Value>, csrf: bool) -> (u16, Value) {
        let mut request = client().request(method, format!("{}/api{path}", s.base)).header(COOKIE, &self.cookie);
        if csrf {
            request = request.header("x-csrf-token", &self.csrf);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let answer = request.send().await.expect("api");
        let status = answer.status().as_u16();
        (status, answer.json().await.unwrap_or(Value::Null))
    }

    async fn page(&self, s: &Server, path: &str) -> (u16, String) {
        let answer = client().get(format!("{}{path}", s.base)).header(COOKIE, &self.cookie).send().await.expect("page");
        (answer.status().as_u16(), answer.text().await.unwrap_or_default())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_front_page_signs_in_with_a_token_and_sessions_can_be_listed_and_ended() {
    let s = Server::start().await;
    // A stranger gets the sign-in page, not a JSON 404, under a strict policy.
    let front = client().get(format!("{}/", s.base)).send().await.expect("front");
    assert_eq!(front.status(), 200);
    let csp = front.headers()["content-security-policy"].to_str().expect("csp").to_owned();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"), "{csp}");
    assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    let html = front.text().await.expect("html");
    assert!(html.contains("Sign in to Switchboard") && html.contains("name=\"token\""), "{html}");
    // Pages need a session: without one they send the browser to sign in.
    let board = client().get(format!("{}/console/board", s.base)).send().await.expect("board");
    assert_eq!((board.status().as_u16(), board.headers()[LOCATION].to_str().ok()), (303, Some("/")));

    // Another site's page cannot sign a visitor in (as its own user).
    let forged = client()
        .post(format!("{}/console/sign-in", s.base))
        .header("origin", "https://evil.example")
        .form(&[("token", ADMIN)])
        .send()
        .await
        .expect("sign in");
    assert_eq!(forged.status(), 403);
    assert!(forged.headers().get(SET_COOKIE).is_none());
    let wrong = client().post(format!("{}/console/sign-in", s.base)).form(&[("token", "nope")]).send().await;
    let wrong = wrong.expect("sign in");
    assert_eq!(wrong.status(), 401);
    assert!(wrong.headers().get(SET_COOKIE).is_none());
    assert!(wrong.text().await.expect("html").contains("That token is not valid."));

    let me = sign_in(&s, ADMIN).await;
    // A signed-in browser at / goes to the board.
    let front = client().get(format!("{}/", s.base)).header(COOKIE, &me.cookie).send().await.expect("front");
    assert_eq!(front.headers()[LOCATION], "/console/board");
    let (status, who) = me.api(&s, Method::GET, "/session", None, false).await;
    assert_eq!((status, who["user"]["name"].as_str()), (200, Some("admin")));
    let id = who["session"].as_str().expect("session id").to_owned();

    // A second browser; the first lists both and ends the second.
    let other = sign_in(&s, ADMIN).await;
    let (_, list) = me.api(&s, Method::GET, "/sessions", None, false).await;
    let list = list.as_array().expect("list").clone();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.iter().all(|x| x["label"] == "TestBrowser/1.0"), "{list:?}");
    assert_eq!(list.iter().filter(|x| x["current"] == true).count(), 1);
    let second = list.iter().find(|x| x["id"] != id.as_str()).expect("other")["id"].as_str().expect("id").to_owned();
    let (status, _) = me.api(&s, Method::DELETE, &format!("/sessions/{second}"), None, true).await;
    assert_eq!(status, 204);
    let (status, body) = other.api(&s, Method::GET, "/session", None, false).await;
    assert_eq!(status, 401, "an ended session no longer works: {body}");
    let (status, _) = me.api(&s, Method::DELETE, &format!("/sessions/{second}"), None, true).await;
    assert_eq!(status, 404, "ending it twice finds nothing");

    // Sign out ends the session and removes the cookie; a wrong token in
    // the form is refused and signs nobody out.
    let out = client()
        .post(format!("{}/console/sign-out", s.base))
        .header(COOKIE, &me.cookie)
        .form(&[("csrf", "forged")])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 403);
    let out = client()
        .post(format!("{}/console/sign-out", s.base))
        .header(COOKIE, &me.cookie)
        .form(&[("csrf", me.csrf.as_str())])
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 303);
    assert!(out.headers()[SET_COOKIE].to_str().expect("cookie").contains("Max-Age=0"));
    assert_eq!(me.api(&s, Method::GET, "/session", None, false).await.0, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_expire_after_twelve_hours() {
    let s = Server::start().await;
    // Behind a proxy that says the browser came over TLS, the cookie is Secure.
    let behind = client()
        .post(format!("{}/console/sign-in", s.base))
        .header("x-forwarded-proto", "https")
        .form(&[("token", ADMIN)])
        .send()
        .await
        .expect("sign in");
    let secure = behind.headers()[SET_COOKIE].to_str().expect("cookie").to_owned();
    assert!(secure.ends_with("; Secure"), "{secure}");
    let me = sign_in(&s, ADMIN).await;
    s.clock.advance(jiff::SignedDuration::from_hours(11));
    assert_eq!(me.api(&s, Method::GET, "/session", None, false).await.0, 200);
    s.clock.advance(jiff::SignedDuration::from_hours(1));
    assert_eq!(me.api(&s, Method::GET, "/session", None, false).await.0, 401);
    assert_eq!(me.page(&s, "/console/board").await.0, 303);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_writes_only_with_its_csrf_token_and_only_from_its_own_origin() {
    let s = Server::start().await;
    let me = sign_in(&s, ADMIN).await;
    let (status, body) = me.api(&s, Method::POST, "/teams", Some(json!({"name": "Ops"})), false).await;
    assert_eq!(status, 403, "{body}");
    assert!(body["detail"].as_str().is_some_and(|d| d.starts_with("missing csrf token")), "{body}");
    let forged = Browser { cookie: me.cookie.clone(), csrf: "0".repeat(64) };
    let (status, body) = forged.api(&s, Method::POST, "/teams", Some(json!({"name": "Ops"})), true).await;
    assert_eq!((status, body["detail"].as_str()), (403, Some("wrong csrf token for this session")));
    assert_eq!(s.get("/api/teams").await.expect(200), json!([]), "nothing was written");
    let (status, _) = me.api(&s, Method::POST, "/teams", Some(json!({"name": "Ops"})), true).await;
    assert_eq!(status, 201);
    // Another site's page cannot use the cookie, even to read (or to open
    // the operator websocket, which is a GET).
    let answer = client()
        .get(format!("{}/api/teams", s.base))
        .header(COOKIE, &me.cookie)
        .header("origin", "https://evil.example")
        .send()
        .await
        .expect("cross-site");
    assert_eq!(answer.status(), 403);
    // A bearer token needs no CSRF token: no browser sends it by itself.
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_is_refused_every_admin_page_and_sees_only_their_teams() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let ada = s.post("/api/users", json!({"name": "Ada", "role": "agent", "teams": ["ops"]})).await.expect(201);
    let agent = sign_in(&s, ada["token"].as_str().expect("token")).await;
    for page in ADMIN_PAGES {
        let (status, html) = agent.page(&s, page).await;
        assert_eq!(status, 403, "{page}");
        assert!(html.contains("This page is for administrators"), "{page}: {html}");
        assert!(!html.contains("/console/admin/users\""), "{page} links to admin pages for an agent");
    }
    for page in ["/console/board", "/console/chat", "/console/sessions", "/console/tickets/1"] {
        assert_eq!(agent.page(&s, page).await.0, 200, "{page}");
    }
    let admin = sign_in(&s, ADMIN).await;
    for page in ADMIN_PAGES {
        assert_eq!(admin.page(&s, page).await.0, 200, "{page}");
    }
    let (_, teams) = agent.api(&s, Method::GET, "/teams", None, false).await;
    let slugs: Vec<&str> = teams.as_array().expect("teams").iter().filter_map(|t| t["slug"].as_str()).collect();
    assert_eq!(slugs, ["ops"], "an agent lists only their teams");
    assert_eq!(agent.api(&s, Method::GET, "/teams/sales", None, false).await.0, 404);
    for path in [
        "/teams/sales/board",
        "/teams/sales/stages",
        "/teams/sales/sla-policies",
        "/teams/sales/triggers",
        "/teams/sales/stages/1/robots",
    ] {
        assert_eq!(agent.api(&s, Method::GET, path, None, false).await.0, 404, "{path}");
    }
    for path in [
        "/teams/ops/board",
        "/teams/ops/stages",
        "/teams/ops/sla-policies",
        "/teams/ops/triggers",
        "/teams/ops/stages/1/robots",
    ] {
        assert_eq!(agent.api(&s, Method::GET, path, None, false).await.0, 200, "{path}");
    }
    assert_eq!(agent.api(&s, Method::POST, "/users", Some(json!({"name": "X", "role": "admin"})), true).await.0, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_speak_the_chosen_language_then_the_browsers() {
    let s = Server::start().await;
    let front = |lang: &'static str, cookie: Option<&'static str>| {
        let mut request = client().get(format!("{}/", s.base)).header(ACCEPT_LANGUAGE, lang);
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        async move { request.send().await.expect("front").text().await.expect("html") }
    };
    let uk = front("uk-UA,uk;q=0.9,en;q=0.5", None).await;
    assert!(uk.contains("<html lang=\"uk\">") && uk.contains("Вхід до Switchboard"), "{uk}");
    let es = front("es-MX", None).await;
    assert!(es.contains("<html lang=\"es\">") && es.contains("Inicia sesión en Switchboard"), "{es}");
    let chosen = front("uk", Some("sb_lang=es")).await;
    assert!(chosen.contains("<html lang=\"es\">"), "the user's choice beats the browser's");
    let other = front("de", None).await;
    assert!(other.contains("<html lang=\"en\">"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_files_are_served_with_their_types_and_a_strict_policy() {
    let s = Server::start().await;
    for (path, kind) in [
        ("/console/assets/console.css", "text/css"),
        ("/console/assets/common.js", "text/javascript"),
        ("/console/assets/board.js", "text/javascript"),
        ("/console/assets/admin.js", "text/javascript"),
        ("/console/assets/chat.js", "text/javascript"),
        ("/console/assets/chime.wav", "audio/wav"),
    ] {
        let answer = client().get(format!("{}{path}", s.base)).send().await.expect("file");
        assert_eq!(answer.status(), 200, "{path}");
        let headers = answer.headers();
        assert!(headers["content-type"].to_str().is_ok_and(|t| t.starts_with(kind)), "{path}");
        let csp = headers["content-security-policy"].to_str().expect("csp");
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }
    let missing = client().get(format!("{}/console/assets/nope.js", s.base)).send().await.expect("file");
    assert_eq!(missing.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_attempts_are_rate_limited_per_client() {
    let s = Server::start().await;
    let mut statuses = Vec::new();
    for _ in 0..14 {
        let answer = client().post(format!("{}/console/sign-in", s.base)).form(&[("token", "guess")]).send().await;
        let answer = answer.expect("sign in");
        statuses.push(answer.status().as_u16());
        if answer.status() == 429 {
            assert!(answer.headers().get("retry-after").is_some());
        }
    }
    assert!(statuses[..10].iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(statuses.last(), Some(&429), "{statuses:?}");
}

/// Opens a ticket in `team` over the API.
async fn ticket(s: &Server, team: &str, title: &str, priority: u8, contact: &str) -> u64 {
    let body = json!({"title": title, "priority": priority, "contact": {"name": contact, "email": format!("{}@example.com", contact.to_lowercase())}});
    s.post(&format!("/api/teams/{team}/tickets"), body).await.expect(201)["id"].as_u64().expect("id")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_board_sorts_filters_and_searches_by_stage() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let old_low = ticket(&s, "ops", "Printer jam", 0, "Ann").await;
    s.clock.advance(jiff::SignedDuration::from_mins(5));
    let urgent = ticket(&s, "ops", "Site down", 3, "Bohdan").await;
    let new_low = ticket(&s, "ops", "Password reset", 0, "Carmen").await;
    s.patch(&format!("/api/tickets/{new_low}"), json!({"stage": "In Progress"})).await.expect(200);

    let board = s.get("/api/teams/ops/board").await.expect(200);
    let columns = board["columns"].as_array().expect("columns");
    let names: Vec<&str> = columns.iter().filter_map(|c| c["name"].as_str()).collect();
    assert_eq!(names, ["New", "In Progress", "Solved", "Cancelled"]);
    let ids = |c: &Value| {
        c["cards"].as_array().expect("cards").iter().map(|x| x["id"].as_u64().unwrap_or(0)).collect::<Vec<_>>()
    };
    assert_eq!(ids(&columns[0]), [urgent, old_low], "urgent first, then by age");
    assert_eq!(ids(&columns[1]), [new_low]);
    assert_eq!(columns[0]["count"], 2);
    let card = &columns[0]["cards"][0];
    assert_eq!(
        (card["title"].as_str(), card["contact"].as_str(), card["priority"].as_u64()),
        (Some("Site down"), Some("Bohdan"), Some(3))
    );
    assert_eq!(card["channel"], "api");
    assert_eq!(board["channels"], json!(["api"]));

    let searched = s.get("/api/teams/ops/board?q=carm").await.expect(200);
    let found: Vec<u64> = searched["columns"].as_array().expect("columns").iter().flat_map(ids).collect();
    assert_eq!(found, [new_low], "a search finds contacts' names");
    let searched = s.get("/api/teams/ops/board?q=JAM").await.expect(200);
    let found: Vec<u64> = searched["columns"].as_array().expect("columns").iter().flat_map(ids).collect();
    assert_eq!(found, [old_low], "and titles, in any case");
    let urgent_only = s.get("/api/teams/ops/board?priority=urgent").await.expect(200);
    assert_eq!(urgent_only["columns"][0]["count"], 1);
    let one = s.get("/api/teams/ops/board?per_stage=1").await.expect(200);
    assert_eq!(
        (one["columns"][0]["count"].as_u64(), ids(&one["columns"][0]).len()),
        (Some(2), 1),
        "counted, not all shown"
    );
    s.get("/api/teams/ops/board?per_stage=0").await.expect_error(422, "invalid_field", "per_stage");
    s.get("/api/teams/ops/board?q=".to_owned().as_str()).await.expect(200);
    s.get(&format!("/api/teams/ops/board?q={}", "x".repeat(201))).await.expect_error(422, "invalid_field", "q");
    s.get("/api/teams/ops/board?colour=red").await.expect_error(422, "invalid_field", "colour");
    s.get("/api/teams/nope/board").await.expect_error(404, "not_found", "nope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_live_feed_sends_each_new_or_changed_card_of_its_team_only() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let anonymous = client().get(format!("{}/console/events/ops", s.base)).send().await.expect("feed");
    assert_eq!(anonymous.status(), 401, "the feed needs a session or a token");
    let mut feed =
        client().get(format!("{}/console/events/ops", s.base)).bearer_auth(ADMIN).send().await.expect("feed");
    assert_eq!(feed.status(), 200);
    assert!(feed.headers()["content-type"].to_str().is_ok_and(|t| t.starts_with("text/event-stream")));
    let mut buffer = String::new();
    assert_eq!(support::next_event(&mut feed, &mut buffer, "reload").await, "live");
    ticket(&s, "sales", "Not ours", 1, "Zed").await;
    let id = ticket(&s, "ops", "Fresh one", 2, "Dana").await;
    let card = support::next_event(&mut feed, &mut buffer, "card").await;
    assert_eq!(
        (card["id"].as_u64(), card["title"].as_str(), card["contact"].as_str()),
        (Some(id), Some("Fresh one"), Some("Dana"))
    );
    s.patch(&format!("/api/tickets/{id}"), json!({"stage": "Solved", "priority": 3})).await.expect(200);
    let card = support::next_event(&mut feed, &mut buffer, "card").await;
    assert_eq!((card["id"].as_u64(), card["priority"].as_u64(), card["stage"].as_u64()), (Some(id), Some(3), Some(3)));
    // The SLA sweep's breach reaches the board too.
    let policy = json!({"name": "Urgent", "min_priority": "urgent", "target_stage": "Solved", "hours": 1});
    s.post("/api/teams/ops/sla-policies", policy).await.expect(201);
    let late = ticket(&s, "ops", "Late one", 3, "Eve").await;
    let card = support::next_event(&mut feed, &mut buffer, "card").await;
    assert_eq!((card["id"].as_u64(), card["breached"].as_bool()), (Some(late), Some(false)));
    assert!(card["sla_deadline"].is_string(), "{card}");
    s.clock.advance(jiff::SignedDuration::from_hours(2));
    let card = support::next_event(&mut feed, &mut buffer, "card").await;
    assert_eq!((card["id"].as_u64(), card["breached"].as_bool()), (Some(late), Some(true)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tickets_are_assigned_to_team_members_and_the_board_filters_mine_and_unassigned() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let ada = s.post("/api/users", json!({"name": "Ada", "role": "agent", "teams": ["ops"]})).await.expect(201);
    let bo = s.post("/api/users", json!({"name": "Bo", "role": "agent", "teams": ["sales"]})).await.expect(201);
    let (ada_id, bo_id) = (ada["id"].as_u64().expect("id"), bo["id"].as_u64().expect("id"));
    let first = ticket(&s, "ops", "First", 1, "Ann").await;
    let second = ticket(&s, "ops", "Second", 1, "Cy").await;

    let assigned = s.patch(&format!("/api/tickets/{first}"), json!({"assignee": ada_id})).await.expect(200);
    assert_eq!(assigned["assignee"], json!({"id": ada_id, "name": "Ada"}));
    s.patch(&format!("/api/tickets/{second}"), json!({"assignee": bo_id})).await.expect_error(
        422,
        "invalid_field",
        "user \"Bo\" does not work in team \"ops\"",
    );
    s.patch(&format!("/api/tickets/{second}"), json!({"assignee": 999})).await.expect_error(
        422,
        "invalid_field",
        "unknown user 999",
    );
    let thread = s.get(&format!("/api/tickets/{first}/messages")).await.expect(200);
    assert!(thread.as_array().expect("thread").iter().any(|m| m["body"] == "Assigned to Ada"), "{thread}");

    let agent = sign_in(&s, ada["token"].as_str().expect("token")).await;
    let ids = |board: &Value| -> Vec<u64> {
        board["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .flat_map(|c| c["cards"].as_array().cloned().unwrap_or_default())
            .filter_map(|c| c["id"].as_u64())
            .collect()
    };
    let (_, mine) = agent.api(&s, Method::GET, "/teams/ops/board?assignee=me", None, false).await;
    assert_eq!(ids(&mine), [first]);
    assert_eq!(mine["columns"][0]["cards"][0]["assignee"], "Ada");
    let (_, free) = agent.api(&s, Method::GET, "/teams/ops/board?assignee=none", None, false).await;
    assert_eq!(ids(&free), [second]);
    // Unassigning is a null; the ticket shows nobody again.
    let (status, body) =
        agent.api(&s, Method::PATCH, &format!("/tickets/{first}"), Some(json!({"assignee": null})), true).await;
    assert_eq!((status, &body["assignee"]), (200, &Value::Null));
    let (_, free) = agent.api(&s, Method::GET, "/teams/ops/board?assignee=none", None, false).await;
    assert_eq!(ids(&free), [first, second]);
    s.get("/api/teams/ops/board?assignee=someone").await.expect_error(422, "invalid_field", "assignee");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_changes_a_users_teams_and_a_new_token_signs_them_out_everywhere() {
    let s = Server::start().await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let ada = s.post("/api/users", json!({"name": "Ada", "role": "agent", "teams": ["ops"]})).await.expect(201);
    let (id, old) = (ada["id"].as_u64().expect("id"), ada["token"].as_str().expect("token").to_owned());
    let agent = sign_in(&s, &old).await;
    assert_eq!(agent.api(&s, Method::GET, "/teams/sales/board", None, false).await.0, 404);

    let changed = s.patch(&format!("/api/users/{id}"), json!({"teams": ["sales", "ops"]})).await.expect(200);
    assert_eq!(changed["teams"], json!(["ops", "sales"]));
    assert_eq!(
        agent.api(&s, Method::GET, "/teams/sales/board", None, false).await.0,
        200,
        "the session sees it at once"
    );
    s.patch(&format!("/api/users/{id}"), json!({"teams": ["nope"]})).await.expect_error(
        422,
        "invalid_field",
        "teams[0]",
    );
    s.patch("/api/users/999", json!({"teams": []})).await.expect_error(404, "not_found", "unknown user 999");
    let (status, _) = agent.api(&s, Method::PATCH, &format!("/users/{id}"), Some(json!({"teams": []})), true).await;
    assert_eq!(status, 403, "only an admin changes users");

    let made = s.call(Method::POST, &format!("/api/users/{id}/token"), Some(ADMIN), None).await.expect(200);
    let new = made["token"].as_str().expect("the new token, once");
    assert_ne!(new, old);
    assert_eq!(s.call(Method::GET, "/api/teams", Some(&old), None).await.status, 401, "the old token stops working");
    assert_eq!(s.call(Method::GET, "/api/teams", Some(new), None).await.status, 200);
    assert_eq!(agent.api(&s, Method::GET, "/session", None, false).await.0, 401, "their sessions ended");
}
