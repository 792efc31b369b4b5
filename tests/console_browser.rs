//! The consoles in a real headless browser (Debian `chromium`, driven over
//! W3C WebDriver): an admin signs in, creates a team, enables the web form
//! through the settings form generated from its schema (a validation error
//! shows beside its field), watches the board while a customer sends the
//! form in another tab, stars the new card urgent, moves it by keyboard
//! and by dragging, and replies on the ticket page; an agent is refused
//! the admin pages. Every page passes axe-core with no serious or critical
//! violation, and screenshots of the board, the ticket page and the admin
//! plugin page are kept under `target/screenshots/`.

mod browser_kit;
mod chat_kit;
mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use browser_kit::Browser;
use serde_json::{Value, json};
use support::{ADMIN, Server};

/// W3C WebDriver key values.
const SHIFT: &str = "\u{E008}";
const RIGHT: &str = "\u{E014}";

fn screenshots() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots")
}

/// Waits until the browser is at a URL containing `part`.
async fn wait_url(browser: &Browser, part: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !browser.url().await.contains(part) {
        assert!(Instant::now() < deadline, "never reached {part}; at {}", browser.url().await);
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// Runs axe-core on the page and fails on any serious or critical
/// violation, listing them.
async fn accessible(browser: &Browser, page: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target/test-data/axe.min.js");
    let axe = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; scripts/setup.sh --for-tests fetches axe-core", path.display()));
    // WebDriver's scripts run outside the page's policy, as extensions'
    // do, so axe is loaded without loosening the page's own.
    let script = format!(
        "var done = arguments[arguments.length - 1];\n{axe}\n\
         axe.run(document, {{resultTypes: ['violations']}}).then(function (r) {{\
           done(r.violations.filter(function (v) {{ return v.impact === 'serious' || v.impact === 'critical'; }})\
             .map(function (v) {{ return v.id + ': ' + v.help + ' at ' + v.nodes.map(function (n) {{ return n.target.join(' '); }}).join(', '); }}));\
         }}, function (e) {{ done(['axe failed: ' + e]); }});"
    );
    let found = browser.run_async(&script).await;
    assert_eq!(found, json!([]), "{page} has serious or critical accessibility violations");
}

/// The ids of the cards in the column of stage `stage`, top first.
async fn column(browser: &Browser, stage: u64) -> Vec<u64> {
    let ids = browser
        .run(&format!(
            "return [...document.querySelectorAll('ol.cards[data-stage=\"{stage}\"] .ticket-card')].map(c => Number(c.dataset.id));"
        ))
        .await;
    ids.as_array().map(|a| a.iter().filter_map(Value::as_u64).collect()).unwrap_or_default()
}

async fn sign_in(browser: &Browser, base: &str, token: &str) {
    browser.open(&format!("{base}/")).await;
    browser.type_into("#token", token).await;
    browser.click("form[action='/console/sign-in'] button[type=submit]").await;
    wait_url(browser, "/console/board").await;
}

#[tokio::test]
async fn an_admin_sets_up_a_team_and_works_a_ticket_from_the_board() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    let browser = Browser::start().await;
    browser.resize(1400, 1000).await;

    browser.open(&format!("{}/", s.base)).await;
    accessible(&browser, "the sign-in page").await;
    browser.type_into("#token", "wrong").await;
    browser.click("form[action='/console/sign-in'] button[type=submit]").await;
    browser.wait_for("the sign-in error", "document.getElementById('sign-in-error')", 10).await;
    assert_eq!(browser.text_of("#sign-in-error").await, "That token is not valid.");
    sign_in(&browser, &s.base, ADMIN).await;

    // A team, from the admin console.
    browser.open(&format!("{}/console/admin", s.base)).await;
    browser.wait_for("the teams page", "document.body.dataset.adminReady === 'true'", 10).await;
    browser.type_into("#team-name", "Customer Care").await;
    browser.click("#new-team button[type=submit]").await;
    wait_url(&browser, "/console/admin/teams/customer-care").await;
    browser.wait_for("the team page", "document.body.dataset.adminReady === 'true'", 10).await;
    assert_eq!(browser.text_of("#team-title").await, "Customer Care");
    accessible(&browser, "the team page").await;

    // The web form, through the settings form its schema makes: a bad
    // value is refused beside its field, then a good one enables it.
    browser.open(&format!("{}/console/admin/plugins?team=customer-care#web-form", s.base)).await;
    browser.wait_for("the settings dialog", "document.getElementById('enable-dialog').open", 10).await;
    browser.type_into("#setting-title", "Write to Customer Care").await;
    browser.type_into("#setting-rate_limit", r#"{"submissions": -1}"#).await;
    browser.click("#enable-save").await;
    browser
        .wait_for(
            "the error beside rate_limit",
            "document.getElementById('err-setting-rate_limit').textContent !== ''",
            10,
        )
        .await;
    let beside = browser.text_of("#err-setting-rate_limit").await;
    assert!(beside.starts_with("settings/rate_limit/submissions:") && beside.contains("minimum"), "{beside}");
    assert_eq!(
        browser.run("return document.getElementById('setting-rate_limit').getAttribute('aria-invalid')").await,
        "true"
    );
    assert_eq!(browser.text_of("#err-setting-title").await, "", "the other fields show no error");
    // The plugin's own check (two fields with one name) lands beside
    // `fields`, the setting it names.
    browser.run("document.getElementById('setting-rate_limit').value = '';").await;
    let twice =
        r#"[{"name": "a", "target": "title", "label": "A"}, {"name": "a", "target": "description", "label": "B"}]"#;
    browser.type_into("#setting-fields", twice).await;
    browser.click("#enable-save").await;
    browser
        .wait_for(
            "the plugin's error beside fields",
            "document.getElementById('err-setting-fields').textContent !== ''",
            10,
        )
        .await;
    let beside = browser.text_of("#err-setting-fields").await;
    assert!(beside.starts_with("settings.fields[1].name:"), "{beside}");
    assert_eq!(browser.text_of("#err-setting-rate_limit").await, "");
    browser.run("document.getElementById('setting-fields').value = '';").await;
    s.get("/api/teams/customer-care/plugins/web-form").await.expect(404);
    browser.run("document.getElementById('setting-rate_limit').value = '';").await;
    browser.type_into("#setting-rate_limit", r#"{"submissions": 50, "per_minutes": 10}"#).await;
    accessible(&browser, "the plugin settings dialog").await;
    browser.screenshot(&screenshots().join("admin-plugin.png")).await;
    browser.click("#enable-save").await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while browser.run("return document.getElementById('enable-dialog').open").await == true {
        let errors = browser.run("return [...document.querySelectorAll('#enable .field-error')].map(e => e.textContent).join(' | ') + ' toast: ' + document.getElementById('toast').textContent + ' rl: ' + document.getElementById('setting-rate_limit').value").await;
        assert!(Instant::now() < deadline, "the dialog stayed open: {errors}");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let installed = s.get("/api/teams/customer-care/plugins/web-form").await.expect(200);
    assert_eq!(installed["settings"]["title"], "Write to Customer Care");
    assert_eq!(installed["grants"], json!(["tickets"]));
    // The team page now offers the form's link, with a copy button.
    browser.open(&format!("{}/console/admin/teams/customer-care", s.base)).await;
    browser.wait_for("the embed link", "document.querySelector('#embeds textarea')", 10).await;
    let link = browser.run("return document.querySelector('#embeds textarea').value").await;
    assert_eq!(link, format!("{}/c/customer-care/web-form/", s.base));
    browser.click("#embeds button.copy").await;
    browser.wait_for("the copy", "document.getElementById('toast').classList.contains('show')", 5).await;

    // Two tickets already there; the board is open and live.
    for title in ["Invoice question", "Login trouble"] {
        let body = json!({"title": title, "priority": 1, "contact": {"name": "Old Customer"}});
        s.post("/api/teams/customer-care/tickets", body).await.expect(201);
    }
    browser.open(&format!("{}/console/board?team=customer-care", s.base)).await;
    browser
        .wait_for(
            "the live board",
            "document.body.dataset.live === 'true' && document.body.dataset.boardReady === 'true'",
            10,
        )
        .await;
    let board = browser.window().await;

    // A customer sends the form in another tab; the card appears on the
    // board without a reload, within a second.
    browser.run("window.__marker = 'no reload';").await;
    browser.new_tab().await;
    browser.open(&format!("{}/c/customer-care/web-form/", s.base)).await;
    assert_eq!(browser.text_of("h1").await, "Write to Customer Care");
    browser.type_into("#f-name", "Olena Koval").await;
    browser.type_into("#f-email", "olena@example.com").await;
    browser.type_into("#f-subject", "Card charged twice").await;
    browser.type_into("#f-description", "Two charges this morning.").await;
    browser.click("button[type=submit]").await;
    wait_url(&browser, "/thanks?ticket=").await;
    let sent = Instant::now();
    let id: u64 = browser.text_of(".reference strong").await.trim_start_matches('#').parse().expect("reference");
    browser.switch_to(&board).await;
    browser.wait_for("the new card", &format!("document.querySelector('.ticket-card[data-id=\"{id}\"]')"), 5).await;
    let delay = sent.elapsed();
    assert!(delay < Duration::from_secs(1), "the card took {delay:?} to appear");
    assert_eq!(browser.run("return window.__marker").await, "no reload", "the board did not reload");
    let card = format!(".ticket-card[data-id=\"{id}\"]");
    assert!(browser.text_of(&card).await.contains("Olena Koval"), "the card names the contact");
    let new_stage = 1;
    assert_eq!(column(&browser, new_stage).await.last(), Some(&id), "a low-priority card sorts last");

    // Star it urgent: it moves to the top.
    browser.click(&format!("{card} .star[data-stars=\"3\"]")).await;
    browser
        .wait_for(
            "the card at the top",
            &format!("document.querySelector('ol.cards[data-stage=\"1\"] .ticket-card').dataset.id === '{id}'"),
            5,
        )
        .await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["priority_name"], "urgent");
    accessible(&browser, "the board").await;
    browser.screenshot(&screenshots().join("board.png")).await;
    // On a phone the columns stack and nothing runs off the side.
    browser.resize(390, 844).await;
    browser.wait_for("the phone layout", "document.documentElement.scrollWidth <= window.innerWidth", 5).await;
    browser.screenshot(&screenshots().join("board-phone.png")).await;
    browser.resize(1400, 1000).await;

    // Move it by keyboard: Shift+→ takes it to the next stage.
    browser.run(&format!("document.querySelector('{}').focus();", card.replace('\'', "\\'"))).await;
    browser.press(&[SHIFT, RIGHT]).await;
    browser
        .wait_for(
            "the card in In Progress",
            &format!("document.querySelector('ol.cards[data-stage=\"2\"] {}')", card.replace('\'', "\\'")),
            5,
        )
        .await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["stage"]["name"], "In Progress");
    // The focus stays on the card; 2 sets its priority to high.
    browser
        .wait_for(
            "the focus on the moved card",
            &format!("document.activeElement && document.activeElement.dataset.id === '{id}'"),
            5,
        )
        .await;
    browser.press(&["2"]).await;
    browser
        .wait_for(
            "two stars",
            &format!("document.querySelectorAll('{} .star.on').length === 2", card.replace('\'', "\\'")),
            5,
        )
        .await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["priority_name"], "high");
    // And by dragging it onto Solved. WebDriver cannot make chromium's
    // native drag and drop, so the page gets the drag events a mouse would
    // make, with a real DataTransfer.
    browser
        .run(&format!(
            "const card = document.querySelector('{sel}');\
             const target = document.querySelector('section.column[data-stage=\"3\"]');\
             const data = new DataTransfer();\
             card.dispatchEvent(new DragEvent('dragstart', {{bubbles: true, dataTransfer: data}}));\
             target.dispatchEvent(new DragEvent('dragover', {{bubbles: true, cancelable: true, dataTransfer: data}}));\
             target.dispatchEvent(new DragEvent('drop', {{bubbles: true, cancelable: true, dataTransfer: data}}));\
             card.dispatchEvent(new DragEvent('dragend', {{bubbles: true, dataTransfer: data}}));",
            sel = card.replace('\'', "\\'")
        ))
        .await;
    browser
        .wait_for(
            "the card in Solved",
            &format!("document.querySelector('ol.cards[data-stage=\"3\"] {}')", card.replace('\'', "\\'")),
            5,
        )
        .await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["stage"]["name"], "Solved");

    // Reply from the ticket page.
    browser.open(&format!("{}/console/tickets/{id}", s.base)).await;
    browser.wait_for("the ticket page", "document.body.dataset.ticketReady === 'true'", 10).await;
    assert!(browser.text_of("#ticket-title").await.contains("Card charged twice"));
    assert!(browser.text_of("#contact").await.contains("olena@example.com"));
    // A custom field, added on the page.
    browser.type_into("#new-field-name", "order").await;
    browser.type_into("#new-field-value", "A-17").await;
    browser.click("#fields button[type=submit]").await;
    browser.wait_for("the field", "document.querySelector('#fields [data-field=order]')", 10).await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["fields"], json!({"order": "A-17"}));
    browser.click("#take").await;
    browser
        .wait_for("the assignment", "document.getElementById('assignee').textContent === 'Assigned to admin'", 10)
        .await;
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["assignee"]["name"], "admin");
    browser.type_into("#compose-body", "We refunded the second charge.").await;
    browser.click("#send-reply").await;
    browser
        .wait_for(
            "the reply in the thread",
            "[...document.querySelectorAll('#thread .entry.reply')].some(e => e.textContent.includes('refunded'))",
            10,
        )
        .await;
    let thread = s.get(&format!("/api/tickets/{id}/messages")).await.expect(200);
    let reply = thread.as_array().expect("thread").iter().find(|m| m["kind"] == "reply").expect("a reply");
    assert_eq!(
        (reply["body"].as_str(), reply["author"]["name"].as_str()),
        (Some("We refunded the second charge."), Some("admin"))
    );
    accessible(&browser, "the ticket page").await;
    browser.screenshot(&screenshots().join("ticket.png")).await;

    // The board in Ukrainian, by the language picker.
    browser.open(&format!("{}/console/board?team=customer-care", s.base)).await;
    browser
        .run("const p = document.getElementById('lang-picker'); p.value = 'uk'; p.dispatchEvent(new Event('change'));")
        .await;
    browser.wait_for("the Ukrainian board", "document.documentElement.lang === 'uk'", 10).await;
    assert_eq!(browser.text_of("nav a[aria-current=page]").await, "Дошка");
    browser
        .run("const p = document.getElementById('lang-picker'); p.value = 'en'; p.dispatchEvent(new Event('change'));")
        .await;
    browser.wait_for("the English board", "document.documentElement.lang === 'en'", 10).await;

    // Users: a new agent from the form gets a token shown once; the admin
    // puts them in the team, then gives them a new token after a prompt.
    browser.open(&format!("{}/console/admin/users", s.base)).await;
    browser.wait_for("the users page", "document.body.dataset.adminReady === 'true'", 10).await;
    browser.type_into("#user-name", "Bea").await;
    browser.click("#new-user button[type=submit]").await;
    browser.wait_for("the new token", "!document.getElementById('new-token').hidden", 10).await;
    let first = browser.text_of("#token-value").await;
    assert!(first.starts_with("sb_"), "{first}");
    let bea = support::eventually("Bea's row", || async {
        let users = s.get("/api/users").await.expect(200);
        users.as_array().and_then(|u| u.iter().find(|u| u["name"] == "Bea").cloned())
    })
    .await;
    let row = format!("tr[data-user=\"{}\"]", bea["id"]);
    browser.wait_for("Bea's row", &format!("document.querySelector('{}')", row.replace('\'', "\\'")), 10).await;
    // The list is drawn again after each change, so these clicks find
    // their element at the moment they click.
    let click = |css: String| format!("document.querySelector('{}').click();", css.replace('\'', "\\'"));
    browser.run(&click(format!("{row} td.row button"))).await;
    browser.run(&click(format!("{row} input[value=customer-care]"))).await;
    browser.run(&click(format!("{row} button.primary"))).await;
    let teams = support::eventually("Bea in the team", || async {
        let user = s.get("/api/users").await.expect(200);
        let bea = user.as_array().and_then(|u| u.iter().find(|u| u["name"] == "Bea").cloned())?;
        (bea["teams"] == json!(["customer-care"])).then_some(bea["teams"].clone())
    })
    .await;
    assert_eq!(teams, json!(["customer-care"]));
    browser
        .wait_for("the row again", &format!("document.querySelector('{} button.danger')", row.replace('\'', "\\'")), 10)
        .await;
    browser.run(&format!("setTimeout(function () {{ {} }}, 0);", click(format!("{row} button.danger")))).await;
    browser.wait_for_alert().await;
    browser.call(reqwest::Method::POST, "/alert/accept", Some(json!({}))).await;
    browser
        .wait_for("another token", &format!("document.getElementById('token-value').textContent !== '{first}'"), 10)
        .await;
    let second = browser.text_of("#token-value").await;
    accessible(&browser, "the users page").await;
    assert_eq!(s.call(reqwest::Method::GET, "/api/teams", Some(&first), None).await.status, 401);
    assert_eq!(s.call(reqwest::Method::GET, "/api/teams", Some(&second), None).await.status, 200);

    browser.open(&format!("{}/console/sessions", s.base)).await;
    browser.wait_for("the sessions", "document.querySelector('#sessions tr')", 10).await;
    assert!(browser.text_of("#sessions").await.contains("(this browser)"));
    accessible(&browser, "the sessions page").await;

    // An agent signs in and is refused the admin pages.
    browser.click("form[action='/console/sign-out'] button").await;
    browser.wait_for("the sign-in page", "document.getElementById('token')", 10).await;
    let ada =
        s.post("/api/users", json!({"name": "Ada", "role": "agent", "teams": ["customer-care"]})).await.expect(201);
    sign_in(&browser, &s.base, ada["token"].as_str().expect("token")).await;
    assert!(
        browser.run("return !document.querySelector('a[href=\"/console/admin\"]')").await == true,
        "an agent sees no admin link"
    );
    for page in
        ["/console/admin", "/console/admin/users", "/console/admin/plugins", "/console/admin/teams/customer-care"]
    {
        browser.open(&format!("{}{page}", s.base)).await;
        assert_eq!(browser.text_of("h1").await, "This page is for administrators", "{page}");
    }
    browser.open(&format!("{}/console/board", s.base)).await;
    browser.wait_for("the agent's board", "document.body.dataset.boardReady === 'true'", 10).await;
    assert!(browser.text_of(".board").await.contains("Card charged twice"));
    // Without a mouse: arrows move between cards, Enter opens one.
    let cards = column(&browser, 1).await;
    assert_eq!(cards.len(), 2, "{cards:?}");
    browser.run("document.querySelector('ol.cards[data-stage=\"1\"] .ticket-card').focus();").await;
    browser.press(&["\u{E015}"]).await;
    let focused = format!("document.activeElement.dataset.id === '{}'", cards[1]);
    browser.wait_for("the focus on the second card", &focused, 5).await;
    browser.press(&["\u{E013}"]).await;
    browser
        .wait_for("the focus back on the first", &format!("document.activeElement.dataset.id === '{}'", cards[0]), 5)
        .await;
    browser.press(&["\u{E007}"]).await;
    wait_url(&browser, &format!("/console/tickets/{}", cards[0])).await;
}

#[tokio::test]
async fn an_operator_takes_a_chat_from_the_console_and_makes_a_ticket() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Care"})).await.expect(201);
    let settings = json!({
        "channels": [{"name": "Care", "rules": [{"display": "show", "script": "forward"}]}],
        "scripts": {"forward": [{"message": "Connecting you to a person.", "type": "forward_to_operator"}]}
    });
    s.enable("care", "live-chat", settings, &["chat", "tickets", "storage", "timers"]).await.expect(201);
    let anna = s.post("/api/users", json!({"name": "Anna", "role": "agent", "teams": ["care"]})).await.expect(201);
    let browser = Browser::start().await;
    browser.resize(1400, 1000).await;
    sign_in(&browser, &s.base, anna["token"].as_str().expect("token")).await;

    browser.open(&format!("{}/console/chat?team=care", s.base)).await;
    browser.wait_for("the operator socket", "document.body.dataset.chatReady === 'true'", 10).await;
    assert_eq!(browser.run("return document.getElementById('channel').value").await, "Care");
    browser.type_into("#chat-name", "Anna K.").await;
    browser.click("#go-online").await;
    browser.wait_for("online", "document.getElementById('status').textContent.includes('Care')", 5).await;

    // The tab is in the background: a new chat chimes and shows in its title.
    browser
        .run(
            "Object.defineProperty(document, 'hidden', {configurable: true, get: () => true});\
             window.__played = 0;\
             const play = HTMLMediaElement.prototype.play;\
             HTMLMediaElement.prototype.play = function () { window.__played += 1; return play.call(this); };",
        )
        .await;
    // A visitor arrives; the chat waits in the list with where they are.
    let mut visitor = chat_kit::Client::visitor(&s.base, "care").await;
    visitor.start("Care", "https://shop.example/pricing", "uk").await;
    browser.wait_for("the waiting chat", "document.querySelector('#waiting button.conversation')", 10).await;
    let listed = browser.text_of("#waiting button.conversation").await;
    assert!(listed.contains("https://shop.example/pricing") && listed.contains("uk"), "{listed}");
    assert_eq!(browser.run("return window.__played").await, 1, "one chime for one new chat");
    let title = browser.run("return document.title").await;
    assert!(title.as_str().is_some_and(|t| t.starts_with("(1) New chat")), "{title}");
    accessible(&browser, "the chat console").await;

    browser.click("#waiting button.conversation").await;
    browser.wait_for("the pane", "!document.getElementById('pane').hidden", 5).await;
    visitor.say("Is there a discount for schools?").await;
    browser
        .wait_for(
            "the visitor's message",
            "document.getElementById('log').textContent.includes('discount for schools')",
            10,
        )
        .await;
    browser.type_into("#body", "Yes, 20%. Shall I open a ticket?").await;
    browser.click("#reply button[type=submit]").await;
    let heard = visitor.next_where(|f| f["type"] == "message" && f["speaker"]["type"] == "operator").await;
    assert_eq!(
        (heard["body"].as_str(), heard["speaker"]["name"].as_str()),
        (Some("Yes, 20%. Shall I open a ticket?"), Some("Anna K."))
    );

    // A board open meanwhile gets the ticket the chat becomes.
    let feed = reqwest::Client::new().get(format!("{}/console/events/care", s.base)).bearer_auth(ADMIN).send();
    let mut feed = feed.await.expect("feed");
    let mut buffer = String::new();
    support::next_event(&mut feed, &mut buffer, "reload").await;
    browser.type_into("#body", "/ticket School discount").await;
    browser.click("#reply button[type=submit]").await;
    browser.wait_for("the ticket link", "document.querySelector('#pane-ticket a')", 10).await;
    let link = browser.run("return document.querySelector('#pane-ticket a').getAttribute('href')").await;
    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["title"], "School discount");
    assert_eq!(link, format!("/console/tickets/{}", tickets[0]["id"]));
    let card = support::next_event(&mut feed, &mut buffer, "card").await;
    assert_eq!((card["id"].clone(), card["title"].as_str()), (tickets[0]["id"].clone(), Some("School discount")));
    browser.screenshot(&screenshots().join("chat.png")).await;
}

#[tokio::test]
async fn an_admin_puts_a_robot_on_a_stage_dry_runs_it_and_adds_a_trigger() {
    let s = Server::start_with(|c| c.bundled = switchboard_server::BundledPlugin::shipped()).await;
    s.post("/api/teams", json!({"name": "Ops"})).await.expect(201);
    let provider = json!({"account_sid": "AC00000000000000000000000000000042", "auth_token": "secret", "from_numbers": ["+15550000001"]});
    s.enable("ops", "robot-sms", provider, &["storage", "http:api.twilio.com"]).await.expect(201);
    let policy = json!({"name": "Any", "min_priority": "low", "target_stage": "Solved", "hours": 1});
    s.post("/api/teams/ops/sla-policies", policy).await.expect(201);
    let contact = json!({"name": "Ann", "phones": [{"number": "+15552220000", "type": "mobile"}]});
    let id = s.post("/api/teams/ops/tickets", json!({"title": "Printer", "contact": contact})).await.expect(201)["id"]
        .as_u64()
        .expect("id");
    let browser = Browser::start().await;
    browser.resize(1400, 1000).await;
    sign_in(&browser, &s.base, ADMIN).await;
    browser.open(&format!("{}/console/admin/teams/ops", s.base)).await;
    browser.wait_for("the automation", "document.body.dataset.automationReady === 'true'", 10).await;
    browser
        .run("const s = document.getElementById('robots-stage'); s.value = '2'; s.dispatchEvent(new Event('change'));")
        .await;
    browser.wait_for("the stage's robots", "document.querySelector('#robots [data-empty]')", 5).await;
    browser.click("#add-robot").await;
    // Too long for an SMS: the robot's schema refuses it, beside the field.
    browser.type_into("li.robot [data-setting=text]", &"x".repeat(201)).await;
    browser.click("#save-robots").await;
    browser
        .wait_for(
            "the error beside text",
            "document.querySelector('li.robot [data-error-for=text]').textContent !== ''",
            10,
        )
        .await;
    let beside = browser.text_of("li.robot [data-error-for=text]").await;
    assert!(beside.contains("settings/text") && beside.contains("200"), "{beside}");
    assert_eq!(s.get("/api/teams/ops/stages/2/robots").await.expect(200)["robots"], json!([]));
    browser.run("document.querySelector('li.robot [data-setting=text]').value = '';").await;
    browser
        .type_into("li.robot [data-setting=text]", "Hello {{ contact.name }}, #{{ ticket.id }} is {{ ticket.stage }}")
        .await;
    browser.run("document.querySelector('li.robot [data-setting=phone_type]').value = '\"mobile\"';").await;
    browser.click("#save-robots").await;
    browser
        .wait_for("the saved robot", "document.querySelectorAll('li.robot').length === 1 && document.getElementById('err-robots').textContent === ''", 10)
        .await;
    let saved = s.get("/api/teams/ops/stages/2/robots").await.expect(200);
    assert_eq!(saved["robots"][0]["plugin"], "robot-sms");
    assert_eq!(
        saved["robots"][0]["settings"]["text"],
        "Hello {{ contact.name }}, #{{ ticket.id }} is {{ ticket.stage }}"
    );

    // The dry run shows the text the ticket would get, and sends nothing.
    browser.type_into("#dry-run-ticket", &id.to_string()).await;
    browser.click("#dry-run button[type=submit]").await;
    browser.wait_for("the plan", "document.querySelector('#dry-run-plan pre.content')", 10).await;
    let plan = browser.text_of("#dry-run-plan").await;
    assert!(plan.contains(&format!("Hello Ann, #{id} is In Progress")), "{plan}");
    assert!(plan.contains("+15552220000"), "{plan}");

    // A trigger: a ticket that becomes urgent moves to In Progress.
    browser.click("#add-trigger").await;
    browser.run("const e = document.querySelector('li.trigger select'); e.value = 'priority_became'; e.dispatchEvent(new Event('change'));").await;
    browser.run("const selects = document.querySelectorAll('li.trigger select'); selects[1].value = 'urgent'; selects[2].value = '2';").await;
    accessible(&browser, "the team page with robots and triggers").await;
    browser.screenshot(&screenshots().join("automation.png")).await;
    browser.click("#save-triggers").await;
    let triggers = support::eventually("the saved trigger", || async {
        let t = s.get("/api/teams/ops/triggers").await.expect(200);
        (t.as_array().is_some_and(|a| !a.is_empty())).then_some(t)
    })
    .await;
    assert_eq!(triggers[0]["event"], "priority_became");
    assert_eq!(triggers[0]["priority"], "urgent");
    assert_eq!(triggers[0]["to_stage"]["name"], "In Progress");
    s.patch(&format!("/api/tickets/{id}"), json!({"priority": "urgent"})).await.expect(200);
    assert_eq!(s.get(&format!("/api/tickets/{id}")).await.expect(200)["stage"]["name"], "In Progress");

    // Once its SLA deadline passes, the card shows it in red.
    s.clock.advance(jiff::SignedDuration::from_hours(2));
    support::eventually("the breach", || async {
        let t = s.get(&format!("/api/tickets/{id}")).await.expect(200);
        (t["sla"]["status"] == "breached").then_some(())
    })
    .await;
    browser.open(&format!("{}/console/board?team=ops", s.base)).await;
    browser.wait_for("the board", "document.body.dataset.boardReady === 'true'", 10).await;
    let red =
        browser.run("const s = document.querySelector('.sla.overdue'); return s && getComputedStyle(s).color").await;
    assert_eq!(red, "rgb(179, 38, 30)", "the overdue deadline is red");

    // A vendor's plugin, installed by upload, then upgraded by uploading
    // a newer version.
    let guest = switchboard_artifacts::HELLO_CHANNEL;
    browser.open(&format!("{}/console/admin/plugins", s.base)).await;
    browser.wait_for("the plugins page", "document.body.dataset.adminReady === 'true'", 10).await;
    browser.type_into("#manifest", guest.manifest).await;
    browser.type_into("#component", guest.wasm).await;
    browser.click("#install button[type=submit]").await;
    browser.wait_for("the installed plugin", "document.getElementById('hello-channel')", 60).await;
    accessible(&browser, "the plugins page").await;
    assert!(browser.text_of("#hello-channel").await.contains("hello-channel 0.1.0"));
    let dir = tempfile::tempdir().expect("dir");
    let newer = dir.path().join("plugin.toml");
    std::fs::write(&newer, guest.manifest_text().replace("version = \"0.1.0\"", "version = \"0.2.0\""))
        .expect("manifest");
    browser.type_into("#manifest", &newer.display().to_string()).await;
    browser.type_into("#component", guest.wasm).await;
    browser.click("#install button[type=submit]").await;
    browser
        .wait_for(
            "the upgrade",
            "(document.getElementById('hello-channel') || {textContent: ''}).textContent.includes('0.2.0')",
            60,
        )
        .await;
    assert_eq!(s.get("/api/plugins/hello-channel").await.expect(200)["version"], "0.2.0");
}
