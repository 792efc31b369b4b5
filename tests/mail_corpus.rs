//! The `.eml` corpus in `tests/mail-corpus/` (charsets, HTML only,
//! attachments, broken headers, long lines, no Message-ID, forwards,
//! auto-replies, bounces, replies), each message sent over SMTP to the
//! real server and its outcome checked against `expected.toml`.

mod mail_kit;
mod support;

use mail_kit::{mail_server, send_raw, thread_of};
use serde_json::Value;

/// One expectation of `tests/mail-corpus/expected.toml`.
#[derive(Debug, serde::Deserialize)]
struct Expected {
    file: String,
    outcome: String,
    title: Option<String>,
    text: Option<String>,
    #[serde(default)]
    not_text: Vec<String>,
    contact: Option<String>,
    name: Option<String>,
    to: Option<String>,
    /// The files listed on the message's thread entry, as "name type",
    /// with " inline" for an inline image.
    files: Option<Vec<String>>,
}

/// The files an entry lists, as `files` in `expected.toml` names them;
/// every kept one has content to fetch.
fn listed_files(entry: &Value) -> Vec<String> {
    let files = entry["attachments"].as_array().cloned().unwrap_or_default();
    files
        .iter()
        .map(|f| {
            assert!(f["dropped"].is_null() && f["url"].is_string() && f["size"].as_u64() > Some(0), "{f}");
            let inline = if f["inline"] == true { " inline" } else { "" };
            format!("{} {}{inline}", f["name"].as_str().unwrap_or("?"), f["content_type"].as_str().unwrap_or("?"))
        })
        .collect()
}

#[derive(serde::Deserialize)]
struct Corpus {
    mail: Vec<Expected>,
}

/// The envelope sender of a corpus file: its From address, else one made
/// up from its name.
fn envelope_sender(raw: &[u8], file: &str) -> String {
    let text = String::from_utf8_lossy(raw);
    let from = text.lines().take_while(|l| !l.trim().is_empty()).find_map(|l| l.strip_prefix("From:"));
    let address = from.and_then(|f| {
        let f = f.trim();
        match (f.rfind('<'), f.rfind('>')) {
            (Some(a), Some(b)) if a < b => Some(f[a + 1..b].to_owned()),
            _ => f.contains('@').then(|| f.to_owned()),
        }
    });
    address.unwrap_or_else(|| {
        format!("{}@customer.example", file.trim_end_matches(".eml").split('-').nth(1).unwrap_or("garbage"))
    })
}

/// Every message of the corpus (charsets, HTML only, attachments, broken
/// headers, long lines, no Message-ID, forwards, auto-replies, bounces,
/// replies) runs through the channel, and its outcome is what
/// `expected.toml` says.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_corpus_lands_as_expected() {
    let m = mail_server(|_| {}).await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/mail-corpus");
    let corpus: Corpus =
        toml::from_str(&std::fs::read_to_string(dir.join("expected.toml")).expect("expected.toml")).expect("parse");
    let files = std::fs::read_dir(&dir)
        .expect("corpus")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "eml")));
    assert_eq!(files.count(), corpus.mail.len(), "every .eml file has an expectation, and only those");
    assert!(corpus.mail.len() >= 40);
    let mut opened: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    for e in &corpus.mail {
        let raw = std::fs::read(dir.join(&e.file)).expect("read");
        let before = m.server.tickets("care").await.len();
        let answer = send_raw(m.smtp, &envelope_sender(&raw, &e.file), &raw).await;
        assert_eq!(answer.code, 250, "{}: {answer:?}", e.file);
        let tickets = m.server.tickets("care").await;
        let new: Vec<&Value> = tickets.iter().filter(|t| !opened.values().any(|id| t["id"] == *id)).collect();
        let texts_hold = |text: &str| {
            if let Some(want) = &e.text {
                assert!(text.contains(want.as_str()), "{}: {want:?} is not in {text:?}", e.file);
            }
            for not in &e.not_text {
                assert!(!text.contains(not.as_str()), "{}: {not:?} should not be in {text:?}", e.file);
            }
        };
        match e.outcome.as_str() {
            "opened" => {
                assert_eq!((tickets.len(), new.len()), (before + 1, 1), "{}: one new ticket", e.file);
                let t = new[0];
                if let Some(title) = &e.title {
                    assert_eq!(t["title"].as_str(), Some(title.as_str()), "{}", e.file);
                }
                texts_hold(t["description"].as_str().unwrap_or_default());
                if let Some(files) = &e.files {
                    let id = t["id"].as_u64().expect("id");
                    let thread = thread_of(&m.server, id).await;
                    let first = thread.iter().find(|m| m["kind"] == "customer").expect("the mail's entry");
                    assert_eq!(&listed_files(first), files, "{}", e.file);
                }
                if e.contact.is_some() || e.name.is_some() {
                    let contact = t["contact_id"].as_u64().unwrap_or_else(|| panic!("{}: no contact", e.file));
                    let contact = m.server.get(&format!("/api/contacts/{contact}")).await.expect(200);
                    if let Some(address) = &e.contact {
                        assert_eq!(contact["emails"][0]["address"].as_str(), Some(address.as_str()), "{}", e.file);
                    }
                    if let Some(name) = &e.name {
                        assert_eq!(contact["name"].as_str(), Some(name.as_str()), "{}", e.file);
                    }
                }
                opened.insert(e.file.clone(), t["id"].as_u64().expect("id"));
            }
            "bounced" if e.to.is_none() => {
                assert_eq!(tickets.len(), before, "{}: a bounce that names no ticket opens none", e.file);
            }
            "appended" | "bounced" => {
                assert_eq!(tickets.len(), before, "{}: no new ticket", e.file);
                let to = e.to.as_ref().expect("appended to what");
                let id = opened[to];
                let thread = thread_of(&m.server, id).await;
                let last = thread.last().expect("an entry");
                let kind = if e.outcome == "appended" { "customer" } else { "event" };
                assert_eq!(last["kind"], kind, "{}: {last}", e.file);
                texts_hold(last["body"].as_str().unwrap_or_default());
                if let Some(files) = &e.files {
                    assert_eq!(&listed_files(last), files, "{}", e.file);
                }
            }
            "ignored" | "duplicate" => {
                assert_eq!(tickets.len(), before, "{}: no new ticket", e.file);
            }
            other => panic!("{}: unknown outcome {other}", e.file),
        }
    }
    // The duplicate added nothing to the first ticket's thread.
    let first = thread_of(&m.server, opened["01-plain-ascii.eml"]).await;
    let customer: Vec<&Value> = first.iter().filter(|e| e["kind"] == "customer").collect();
    assert_eq!(customer.len(), 3, "the mail, and two replies: {first:?}");
}
