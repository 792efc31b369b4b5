//! E-mail to a team's alias, end to end: real SMTP clients (lettre, and a
//! plain socket where the test needs to control every byte) against the
//! real server's listener, the shipped `email-alias` plugin, and the API.

mod mail_kit;
mod support;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use mail_kit::{Client, Mail, customer_bodies, mail_server, send, send_raw, thread_of};
use serde_json::{Value, json};
use support::Server;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

const FIRST: &str = "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: The printer is on fire
Message-ID: <first-1@customer.example>
Date: Tue, 1 Dec 2026 10:00:00 +0200

It started this morning.
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_mail_opens_a_ticket_from_its_sender() {
    let m = mail_server(|_| {}).await;
    // lettre, a real SMTP client, sends the mail.
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let email = Message::builder()
        .from("Olena Koval <olena@customer.example>".parse().expect("from"))
        .to("care@help.example.com".parse().expect("to"))
        .subject("Не працює принтер")
        .body("Добрий день! Принтер не друкує.".to_owned())
        .expect("message");
    let transport =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(m.smtp.ip().to_string()).port(m.smtp.port()).build();
    let sent = transport.send(email).await.expect("the server accepts the mail");
    assert_eq!(sent.code().to_string(), "250");
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let ticket = &tickets[0];
    assert_eq!(ticket["title"], "Не працює принтер");
    assert_eq!(ticket["origin"], "email-alias");
    assert!(ticket["description"].as_str().is_some_and(|d| d.contains("Принтер не друкує")), "{ticket}");
    let id = ticket["id"].as_u64().expect("id");
    let contact = ticket["contact_id"].as_u64().expect("a contact");
    let contact = m.server.get(&format!("/api/contacts/{contact}")).await.expect(200);
    assert_eq!(contact["name"], "Olena Koval");
    assert_eq!(contact["emails"][0]["address"], "olena@customer.example");
    let thread = thread_of(&m.server, id).await;
    let first = thread.iter().find(|m| m["kind"] == "customer").expect("the mail is the first customer message");
    assert_eq!(first["author"]["type"], "contact");
    assert!(first["body"].as_str().is_some_and(|b| b.contains("Принтер не друкує")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_thread_by_header_and_by_subject_tag_from_the_contact_only() {
    let m = mail_server(|_| {}).await;
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");

    // In-Reply-To names the first mail: the reply joins its ticket, and a
    // reply to the reply (naming only the second in References) too.
    let reply = "From: olena@customer.example\nSubject: Re: The printer is on fire\nMessage-ID: <second@customer.example>\nIn-Reply-To: <first-1@customer.example>\n\nStill burning.\n";
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", reply).await.code, 250);
    let deeper = "From: olena@customer.example\nSubject: again\nMessage-ID: <third@customer.example>\nReferences: <second@customer.example>\n\nNow it is out.\n";
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", deeper).await.code, 250);

    // A subject tag from the ticket's contact counts; the same tag from a
    // stranger opens a ticket of its own.
    let tagged = format!(
        "From: Olena <OLENA@customer.example>\nSubject: Any news? [#{id}]\nMessage-ID: <fourth@customer.example>\n\nAny news?\n"
    );
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", &tagged).await.code, 250);
    let stranger = format!(
        "From: mallory@evil.example\nSubject: Re: [#{id}] give me the data\nMessage-ID: <x@evil.example>\n\nHi\n"
    );
    assert_eq!(send(m.smtp, "mallory@evil.example", "care@help.example.com", &stranger).await.code, 250);

    let bodies = customer_bodies(&m.server, id).await;
    assert_eq!(bodies.len(), 4, "{bodies:?}");
    assert!(
        bodies[1].contains("Still burning") && bodies[2].contains("Now it is out") && bodies[3].contains("Any news")
    );
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 2, "the stranger's mail opened its own ticket: {tickets:?}");
    let other = tickets.iter().find(|t| t["id"] != id).expect("the stranger's ticket");
    assert!(other["title"].as_str().is_some_and(|t| t.contains("give me the data")));

    // The same mail again (a client's retry) adds nothing.
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", reply).await.code, 250);
    assert_eq!(customer_bodies(&m.server, id).await.len(), 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn auto_replies_are_ignored_and_bounces_are_recorded_without_a_ticket() {
    let m = mail_server(|_| {}).await;
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    for header in ["Auto-Submitted: auto-replied", "Precedence: bulk", "X-Autoreply: yes", "List-Id: <news.example>"] {
        let auto = format!("From: someone@else.example\nSubject: Out of office\n{header}\n\nAway until Monday.\n");
        assert_eq!(send(m.smtp, "someone@else.example", "care@help.example.com", &auto).await.code, 250, "{header}");
    }
    let bounce = "From: Mail Delivery System <MAILER-DAEMON@mx.customer.example>
Subject: Undelivered Mail Returned to Sender
Content-Type: multipart/report; report-type=delivery-status; boundary=\"b1\"

--b1
Content-Type: text/plain

The mail could not be delivered: mailbox full.
--b1
Content-Type: message/delivery-status

Final-Recipient: rfc822; olena@customer.example
Action: failed
Status: 5.2.2
--b1
Content-Type: text/rfc822-headers

Message-ID: <first-1@customer.example>
Subject: The printer is on fire
--b1--
";
    assert_eq!(send(m.smtp, "", "care@help.example.com", bounce).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 1, "neither auto-replies nor the bounce opened a ticket");
    let thread = thread_of(&m.server, id).await;
    let recorded =
        thread.iter().any(|e| e["kind"] == "event" && e["body"].as_str().is_some_and(|b| b.contains("bounced")));
    assert!(recorded, "the bounce is recorded on the ticket it bounced from: {thread:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recipients_are_checked_at_rcpt_and_plus_addressing_reaches_the_team() {
    let m = mail_server(|_| {}).await;
    m.server.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let (mut c, _) = Client::connect(m.smtp).await;
    let hello = c.command("EHLO client.example").await;
    for ext in ["PIPELINING", "8BITMIME", "SIZE 25000000", "ENHANCEDSTATUSCODES"] {
        assert!(hello.text.contains(ext), "EHLO offers {ext}: {}", hello.text);
    }
    assert!(!hello.text.contains("STARTTLS"), "no certificate, no STARTTLS");
    assert_eq!(c.command("RCPT TO:<care@help.example.com>").await.code, 503, "RCPT before MAIL");
    assert_eq!(c.command("MAIL FROM:<a@customer.example>").await.code, 250);
    let unknown = c.command("RCPT TO:<nobody@help.example.com>").await;
    assert_eq!(unknown.code, 550);
    assert!(unknown.text.starts_with("5.1.1"), "{unknown:?}");
    let no_channel = c.command("RCPT TO:<sales@help.example.com>").await;
    assert_eq!(no_channel.code, 550, "a team without a mail channel: {no_channel:?}");
    let relay = c.command("RCPT TO:<care@elsewhere.example>").await;
    assert_eq!(relay.code, 550, "{relay:?}");
    assert!(relay.text.contains("relaying denied"), "{relay:?}");
    assert_eq!(c.command("VRFY care").await.code, 502);
    assert_eq!(c.command("RCPT TO:<Care+Order-7@Help.Example.com>").await.code, 250);
    assert_eq!(c.command("DATA").await.code, 354);
    c.write(b"From: a@customer.example\r\nSubject: Order 7\r\n\r\nWhere is it?\r\n.\r\n").await;
    assert_eq!(c.reply().await.code, 250);
    c.command("QUIT").await;
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["title"], "Order 7");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversize_mail_is_refused_at_size_and_at_data() {
    let m = mail_server(|c| c.smtp.max_message_bytes = 10_000).await;
    let (mut c, _) = Client::connect(m.smtp).await;
    assert!(c.command("EHLO client.example").await.text.contains("SIZE 10000"));
    let declared = c.command("MAIL FROM:<a@customer.example> SIZE=20000").await;
    assert_eq!(declared.code, 552, "{declared:?}");
    assert_eq!(c.command("MAIL FROM:<a@customer.example>").await.code, 250);
    assert_eq!(c.command("RCPT TO:<care@help.example.com>").await.code, 250);
    assert_eq!(c.command("DATA").await.code, 354);
    let line = format!("{}\r\n", "x".repeat(998));
    c.write(b"From: a@customer.example\r\nSubject: big\r\n\r\n").await;
    for _ in 0..30 {
        c.write(line.as_bytes()).await;
    }
    let refused = c.command(".").await;
    assert_eq!(refused.code, 552, "{refused:?}");
    // The session goes on: a small message after it is taken.
    let ok = c
        .send("a@customer.example", &["care@help.example.com"], "From: a@customer.example\nSubject: small\n\nok\n")
        .await;
    assert_eq!(ok.code, 250, "{ok:?}");
    let titles: Vec<Value> = m.server.tickets("care").await.iter().map(|t| t["title"].clone()).collect();
    assert_eq!(titles, [json!("small")]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pipelining_client_gets_every_answer_in_order() {
    let m = mail_server(|_| {}).await;
    let (mut c, _) = Client::connect(m.smtp).await;
    assert_eq!(c.command("EHLO client.example").await.code, 250);
    // One write: two recipients (one unknown) and the data command, as
    // RFC 2920 lets a client group them.
    c.write(b"MAIL FROM:<a@customer.example>\r\nRCPT TO:<nobody@help.example.com>\r\nRCPT TO:<care@help.example.com>\r\nDATA\r\n").await;
    let codes = [c.reply().await.code, c.reply().await.code, c.reply().await.code, c.reply().await.code];
    assert_eq!(codes, [250, 550, 250, 354]);
    c.write(b"From: a@customer.example\r\nSubject: piped\r\n\r\nhello\r\n.\r\nQUIT\r\n").await;
    assert_eq!(c.reply().await.code, 250);
    assert_eq!(c.reply().await.code, 221);
    assert_eq!(m.server.tickets("care").await.len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starttls_with_a_test_certificate() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cert = rcgen::generate_simple_self_signed(vec!["mail.help.example.com".to_owned()]).expect("certificate");
    let (cert_path, key_path) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert_path, cert.cert.pem()).expect("write cert");
    std::fs::write(&key_path, cert.key_pair.serialize_pem()).expect("write key");
    let m = mail_server(|c| c.smtp.tls = Some(switchboard_server::TlsFiles { cert: cert_path, key: key_path })).await;

    use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
    use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
    let root = Certificate::from_pem(cert.cert.pem().as_bytes()).expect("root");
    let tls = TlsParameters::builder("mail.help.example.com".into())
        .add_root_certificate(root)
        .build_rustls()
        .expect("tls parameters");
    let transport = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(m.smtp.ip().to_string())
        .port(m.smtp.port())
        .tls(Tls::Required(tls))
        .build();
    let email = Message::builder()
        .from("a@customer.example".parse().expect("from"))
        .to("care@help.example.com".parse().expect("to"))
        .subject("Sent over TLS")
        .body("secret".to_owned())
        .expect("message");
    transport.send(email).await.expect("sent over STARTTLS");
    assert_eq!(m.server.tickets("care").await[0]["title"], "Sent over TLS");

    // Commands pipelined behind STARTTLS in the clear are dropped.
    let (mut c, _) = Client::connect(m.smtp).await;
    assert!(c.command("EHLO client.example").await.text.contains("STARTTLS"));
    c.write(b"STARTTLS\r\nRSET\r\n").await;
    assert_eq!(c.reply().await.code, 220);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_plugin_gives_451_and_the_kept_mail_is_processed_once_it_passes() {
    let m = mail_server(|_| {}).await;
    // Without the `tickets` grant every ticket call is denied, so the
    // plugin fails.
    m.server.enable("care", "email-alias", json!({}), &[]).await.expect(200);
    let answer = send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await;
    assert_eq!(answer.code, 451, "{answer:?}");
    assert!(answer.text.contains("receipt"), "the answer names the kept copy: {answer:?}");
    assert!(m.server.tickets("care").await.is_empty());

    m.server.enable("care", "email-alias", json!({}), &["tickets"]).await.expect(200);
    // The host tries the kept copy again once its wait has passed.
    m.server.clock.advance(jiff::SignedDuration::from_secs(2));
    let mut tickets = Vec::new();
    for _ in 0..200 {
        tickets = m.server.tickets("care").await;
        if !tickets.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(tickets.len(), 1, "the kept mail was processed");
    // The client's own retry finds the message kept and handled.
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 1, "processed once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mail_given_up_on_is_listed_for_admins_and_runs_again() {
    let m = mail_server(|c| c.smtp.max_attempts = 1).await;
    m.server.enable("care", "email-alias", json!({}), &[]).await.expect(200);
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 451);
    m.server.clock.advance(jiff::SignedDuration::from_secs(2));
    let mut failed = Vec::new();
    for _ in 0..200 {
        failed = m.server.get("/api/teams/care/mail/failed").await.expect(200).as_array().cloned().unwrap_or_default();
        if !failed.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert_eq!(failed[0]["mail_from"], "olena@customer.example");
    assert_eq!(failed[0]["rcpt_to"], json!(["care@help.example.com"]));
    assert!(failed[0]["reason"].as_str().is_some_and(|r| r.contains("tickets")), "{failed:?}");
    let receipt = failed[0]["receipt"].as_u64().expect("receipt");
    // The command line lists the same.
    let cli = async |args: &[&str]| {
        let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_switchboard"));
        cmd.arg("mail").args(args).args(["--url", &m.server.base, "--token", support::ADMIN]);
        cmd.output().await.expect("run switchboard mail")
    };
    let listed = cli(&["failed", "--team", "care"]).await;
    let listed_text = String::from_utf8_lossy(&listed.stdout);
    assert!(listed.status.success() && listed_text.contains(&format!("\"receipt\": {receipt}")), "{listed_text}");

    m.server.enable("care", "email-alias", json!({}), &["tickets"]).await.expect(200);
    let rerun = cli(&["retry", "--team", "care", &receipt.to_string()]).await;
    let rerun_text = String::from_utf8_lossy(&rerun.stdout);
    assert!(rerun.status.success() && rerun_text.contains("\"pending\""), "{rerun_text}");
    let mut tickets = Vec::new();
    for _ in 0..200 {
        tickets = m.server.tickets("care").await;
        if !tickets.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert_eq!(tickets.len(), 1);
    assert!(m.server.get("/api/teams/care/mail/failed").await.expect(200).as_array().is_some_and(Vec::is_empty));
    m.server.post(&format!("/api/teams/care/mail/failed/{receipt}/retry"), json!({})).await.expect_error(
        409,
        "conflict",
        "has not failed",
    );
    m.server.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    m.server.post(&format!("/api/teams/sales/mail/failed/{receipt}/retry"), json!({})).await.expect_error(
        404,
        "not_found",
        "no kept message",
    );
}

/// A 250 means the message is on disk: the real binary is SIGKILLed the
/// moment the first 250 arrives while other senders are mid-message, and
/// after a restart every message that got a 250 has its ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_answered_250_survives_a_sigkill() {
    const TOKEN: &str = "mail-durability-token";
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let (mut child, base, smtp) = support::spawn_server_with_smtp(&data, TOKEN, &[]).await;
    let http = reqwest::Client::new();
    let created = http.post(format!("{base}/api/teams")).bearer_auth(TOKEN).json(&json!({"name": "Care"})).send();
    assert_eq!(created.await.expect("team").status(), 201);
    let enable = json!({"settings": {}, "grants": ["tickets"], "declined": ["mail:team"]});
    let enabled =
        http.put(format!("{base}/api/teams/care/plugins/email-alias")).bearer_auth(TOKEN).json(&enable).send();
    assert_eq!(enabled.await.expect("enable").status(), 201);

    let (acked, first) = (Arc::new(std::sync::Mutex::new(Vec::new())), Arc::new(tokio::sync::Notify::new()));
    let senders: Vec<_> = (0..6)
        .map(|s| {
            let (acked, first) = (Arc::clone(&acked), Arc::clone(&first));
            tokio::spawn(async move {
                let Ok(stream) = TcpStream::connect(smtp).await else { return };
                let (read, writer) = stream.into_split();
                let mut c = Client { reader: BufReader::new(read), writer };
                c.reply().await;
                c.command("EHLO client.example").await;
                for i in 0.. {
                    let subject = format!("sender {s} message {i}");
                    let message =
                        format!("From: s{s}@customer.example\nSubject: {subject}\nMessage-ID: <{s}-{i}@c>\n\nbody\n");
                    let Some(answer) = try_send(&mut c, &format!("s{s}@customer.example"), &message).await else {
                        return;
                    };
                    if answer == 250 {
                        acked.lock().expect("acked").push(subject);
                        first.notify_one();
                    }
                }
            })
        })
        .collect();
    first.notified().await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("killed");
    for sender in senders {
        let _ = sender.await;
    }
    let acked = acked.lock().expect("acked").clone();
    assert!(!acked.is_empty());

    let (_child, base, _smtp) = support::spawn_server_with_smtp(&data, TOKEN, &[]).await;
    let tickets: Value = http
        .get(format!("{base}/api/teams/care/tickets?limit=1000"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let titles: Vec<&str> = tickets.as_array().expect("tickets").iter().filter_map(|t| t["title"].as_str()).collect();
    for subject in &acked {
        assert!(titles.contains(&subject.as_str()), "\"{subject}\" got a 250 but has no ticket after the kill");
    }
}

/// Sends one message in an open session; `None` once the server is gone.
async fn try_send(c: &mut Client, from: &str, message: &str) -> Option<u16> {
    let lines = format!("MAIL FROM:<{from}>\r\nRCPT TO:<care@localhost>\r\nDATA\r\n");
    c.writer.write_all(lines.as_bytes()).await.ok()?;
    for _ in 0..3 {
        read_code(c).await?;
    }
    c.writer.write_all(format!("{}.\r\n", message.replace('\n', "\r\n")).as_bytes()).await.ok()?;
    read_code(c).await
}

async fn read_code(c: &mut Client) -> Option<u16> {
    loop {
        let mut line = String::new();
        let n = c.reader.read_line(&mut line).await.ok()?;
        if n < 4 {
            return None;
        }
        if line.as_bytes()[3] != b'-' {
            return line[..3].parse().ok();
        }
    }
}

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

/// A relay started by the test: it speaks enough SMTP for lettre, keeps
/// every message it accepts, and answers the end of each message with
/// the code the test sets (250, 451 or 550).
struct Sink {
    addr: SocketAddr,
    answer: Arc<std::sync::atomic::AtomicU16>,
    received: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
}

impl Sink {
    async fn start() -> Sink {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind sink");
        let addr = listener.local_addr().expect("sink addr");
        let answer = Arc::new(std::sync::atomic::AtomicU16::new(250));
        let received = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (a, r) = (Arc::clone(&answer), Arc::clone(&received));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(Sink::session(stream, Arc::clone(&a), Arc::clone(&r)));
            }
        });
        Sink { addr, answer, received }
    }

    async fn session(
        stream: TcpStream,
        answer: Arc<std::sync::atomic::AtomicU16>,
        received: Arc<std::sync::Mutex<Vec<Vec<u8>>>>,
    ) {
        let (read, mut write) = stream.into_split();
        let mut reader = BufReader::new(read);
        let _ = write.write_all(b"220 sink.example ESMTP\r\n").await;
        let mut line = String::new();
        loop {
            line.clear();
            if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                return;
            }
            let verb = line.get(..4).unwrap_or("").to_ascii_uppercase();
            let reply: &[u8] = match verb.as_str() {
                "EHLO" | "HELO" => b"250 sink.example\r\n",
                "MAIL" | "RCPT" | "RSET" | "NOOP" => b"250 2.0.0 ok\r\n",
                "QUIT" => {
                    let _ = write.write_all(b"221 2.0.0 bye\r\n").await;
                    return;
                }
                "DATA" => {
                    let _ = write.write_all(b"354 go ahead\r\n").await;
                    let mut data = Vec::new();
                    loop {
                        let mut l = Vec::new();
                        if reader.read_until(b'\n', &mut l).await.unwrap_or(0) == 0 {
                            return;
                        }
                        if l == b".\r\n" {
                            break;
                        }
                        data.extend_from_slice(l.strip_prefix(b".").unwrap_or(&l));
                    }
                    let code = answer.load(std::sync::atomic::Ordering::SeqCst);
                    if code == 250 {
                        received.lock().expect("received").push(data);
                    }
                    let text = format!(
                        "{code} {} answer of the test relay\r\n",
                        if code == 250 {
                            "2.0.0"
                        } else if code < 500 {
                            "4.3.0"
                        } else {
                            "5.1.1"
                        }
                    );
                    let _ = write.write_all(text.as_bytes()).await;
                    continue;
                }
                _ => b"502 5.5.1 not here\r\n",
            };
            let _ = write.write_all(reply).await;
        }
    }

    fn relay(&self) -> switchboard_server::RelayConfig {
        switchboard_server::RelayConfig::parse(&format!("smtp://{}", self.addr)).expect("relay")
    }

    fn received(&self) -> Vec<Vec<u8>> {
        self.received.lock().expect("received").clone()
    }
}

/// A mail server whose channel may send through `relay`, with the first
/// mail's ticket; returns the server and that ticket's id.
async fn with_first_ticket(relay: switchboard_server::RelayConfig) -> (Mail, u64) {
    let m = mail_server(move |c| c.smtp.relay = Some(relay)).await;
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    (m, id)
}

/// Polls `check` until it gives a value, for up to 10 s.
async fn eventually<T, F: Future<Output = Option<T>>>(what: &str, mut check: impl FnMut() -> F) -> T {
    for _ in 0..400 {
        if let Some(found) = check().await {
            return found;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{what} did not happen in time");
}

/// Posts an agent's reply on `ticket` and returns its entry's id.
async fn reply(s: &Server, ticket: u64, body: &str) -> u64 {
    let posted = s.post(&format!("/api/tickets/{ticket}/messages"), json!({"kind": "reply", "body": body})).await;
    posted.expect(201)["id"].as_u64().expect("entry")
}

/// Waits until entry `entry` of `ticket` shows delivery state `state`,
/// and returns its delivery.
async fn delivery_becomes(s: &Server, ticket: u64, entry: u64, state: &str) -> Value {
    eventually(&format!("entry {entry} {state}"), || async {
        let d = delivery(s, ticket, entry).await;
        (d["state"] == state).then_some(d)
    })
    .await
}

/// The delivery state of thread entry `entry` of `ticket`.
async fn delivery(s: &Server, ticket: u64, entry: u64) -> Value {
    let thread = thread_of(s, ticket).await;
    thread.into_iter().find(|m| m["id"] == entry).map(|m| m["delivery"].clone()).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agents_reply_goes_out_by_mail_and_the_answer_threads_back() {
    let sink = Sink::start().await;
    let (m, id) = with_first_ticket(sink.relay()).await;

    let posted = m
        .server
        .post(&format!("/api/tickets/{id}/messages"), json!({"kind": "reply", "body": "Вже лагодимо.\nWe are on it."}))
        .await
        .expect(201);
    assert_eq!(posted["delivery"]["state"], "queued", "{posted}");
    let entry = posted["id"].as_u64().expect("entry");
    let raw = eventually("the reply reaching the relay", || async { sink.received().first().cloned() }).await;
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    assert_eq!(mail.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@help.example.com"));
    assert_eq!(mail.to().and_then(|a| a.first()).and_then(|a| a.address()), Some("olena@customer.example"));
    assert_eq!(mail.subject(), Some(format!("Re: The printer is on fire [#{id}]").as_str()));
    assert_eq!(mail.in_reply_to().as_text(), Some("first-1@customer.example"));
    assert_eq!(mail.references().as_text(), Some("first-1@customer.example"));
    assert!(mail.header_raw("Auto-Submitted").is_none(), "an agent's reply is not automatic");
    assert_eq!(mail.body_text(0).as_deref(), Some("Вже лагодимо.\r\nWe are on it."));
    let our_id = mail.message_id().expect("a Message-ID").to_owned();
    let sent = delivery_becomes(&m.server, id, entry, "sent").await;
    assert!(sent["detail"].as_str().is_some_and(|d| d.contains("250")), "{sent}");

    // The customer's answer names our Message-ID, and lands on the ticket.
    let answer = format!(
        "From: olena@customer.example\nSubject: Re: The printer is on fire [#{id}]\nMessage-ID: <answer@customer.example>\nIn-Reply-To: <{our_id}>\n\nThanks, it prints.\n"
    );
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", &answer).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 1);
    assert!(customer_bodies(&m.server, id).await.last().is_some_and(|b| b.contains("Thanks, it prints.")));

    // The next reply references the whole thread, oldest first.
    let second = reply(&m.server, id, "Glad to hear.").await;
    let raw = eventually("the second reply", || async { sink.received().get(1).cloned() }).await;
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    let refs: Vec<String> =
        mail.references().as_text_list().map(|l| l.iter().map(|r| r.to_string()).collect()).unwrap_or_default();
    assert_eq!(refs, ["first-1@customer.example", our_id.as_str(), "answer@customer.example"]);
    assert_eq!(mail.in_reply_to().as_text(), Some("answer@customer.example"));
    delivery_becomes(&m.server, id, second, "sent").await;
    // A note is never mailed.
    m.server
        .post(&format!("/api/tickets/{id}/messages"), json!({"kind": "note", "body": "internal"}))
        .await
        .expect(201);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.received().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_that_defers_is_tried_again_and_one_that_refuses_fails_the_reply() {
    let sink = Sink::start().await;
    let (m, id) = with_first_ticket(sink.relay()).await;

    sink.answer.store(451, std::sync::atomic::Ordering::SeqCst);
    let entry = reply(&m.server, id, "First try.").await;
    let deferred = delivery_becomes(&m.server, id, entry, "deferred").await;
    assert!(deferred["detail"].as_str().is_some_and(|d| d.contains("451")), "{deferred}");
    sink.answer.store(250, std::sync::atomic::Ordering::SeqCst);
    m.server.clock.advance(jiff::SignedDuration::from_secs(5));
    delivery_becomes(&m.server, id, entry, "sent").await;
    assert_eq!(sink.received().len(), 1, "sent once");

    sink.answer.store(550, std::sync::atomic::Ordering::SeqCst);
    let refused = reply(&m.server, id, "Second.").await;
    let failed = delivery_becomes(&m.server, id, refused, "failed").await;
    assert!(failed["detail"].as_str().is_some_and(|d| d.contains("550")), "{failed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_waits_without_a_relay_or_a_grant_and_says_why() {
    let m = mail_server(|_| {}).await;
    assert_eq!(send(m.smtp, "olena@customer.example", "care@help.example.com", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    // Without `mail:team` the channel may not send from the alias.
    let entry = reply(&m.server, id, "Hello").await;
    let denied = delivery_becomes(&m.server, id, entry, "deferred").await;
    assert!(
        denied["detail"]
            .as_str()
            .is_some_and(|d| d.contains("mail:care@help.example.com") && d.contains("not granted")),
        "{denied}"
    );
    // Granted, but no relay: the mail waits in the outbox.
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    m.server.clock.advance(jiff::SignedDuration::from_secs(5));
    let waiting = eventually("the mail deferred for the relay", || async {
        let d = delivery(&m.server, id, entry).await;
        d["detail"].as_str().is_some_and(|t| t.contains("no mail relay")).then_some(d)
    })
    .await;
    assert_eq!(waiting["state"], "deferred");
}

/// The README's example: swaks, a real SMTP client from Debian, sends a
/// mail that opens a ticket.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swaks_opens_a_ticket_as_the_readme_shows() {
    let m = mail_server(|_| {}).await;
    let out = tokio::process::Command::new("swaks")
        .args(["--server", &m.smtp.to_string(), "--to", "care@help.example.com", "--from", "ann@example.com"])
        .args(["--header", "Subject: Cannot log in", "--body", "Since this morning."])
        .output()
        .await
        .expect("swaks runs (scripts/setup.sh --for-tests installs it)");
    let transcript = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "swaks failed: {transcript}");
    assert!(transcript.contains("<-  250 2.0.0 accepted as receipt"), "{transcript}");
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["title"], "Cannot log in");
    assert!(tickets[0]["description"].as_str().is_some_and(|d| d.contains("Since this morning.")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_are_capped_per_client_and_an_idle_one_is_closed() {
    let m = mail_server(|c| {
        c.smtp.max_sessions_per_client = 2;
        c.smtp.idle_timeout = Duration::from_millis(500);
        c.smtp.session_timeout = Duration::from_secs(2);
        c.smtp.max_recipients = 2;
    })
    .await;
    let (_first, a) = Client::connect(m.smtp).await;
    let (_second, b) = Client::connect(m.smtp).await;
    assert_eq!((a.code, b.code), (220, 220));
    let (_third, turned_away) = Client::connect(m.smtp).await;
    assert_eq!(turned_away.code, 421, "{turned_away:?}");
    assert!(turned_away.text.contains("too many connections"), "{turned_away:?}");

    // A silent client is told why and disconnected; its place frees up.
    let mut first = _first;
    let bye = first.reply().await;
    assert_eq!(bye.code, 421, "{bye:?}");
    assert!(bye.text.contains("idle"), "{bye:?}");
    drop((first, _second));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (_again, greeting) = Client::connect(m.smtp).await;
    assert_eq!(greeting.code, 220, "a place is free again");

    // A command line over the limit is refused, and the session goes on.
    let (mut c, _) = Client::connect(m.smtp).await;
    for line in [format!("EHLO {}", "x".repeat(5000)), format!("NOOP {}", "x".repeat(5000))] {
        let refused = c.command(&line).await;
        assert!((500..=501).contains(&refused.code), "{refused:?}");
    }
    assert_eq!(c.command("NOOP").await.code, 250);

    // A third recipient is refused for now; the message goes to two.
    assert_eq!(c.command("EHLO client.example").await.code, 250);
    assert_eq!(c.command("MAIL FROM:<a@customer.example>").await.code, 250);
    for _ in 0..2 {
        assert_eq!(c.command("RCPT TO:<care@help.example.com>").await.code, 250);
    }
    let third = c.command("RCPT TO:<care@help.example.com>").await;
    assert_eq!(third.code, 452, "{third:?}");
    assert_eq!(c.command("RSET").await.code, 250);

    // A busy session still ends when its total time is over.
    let started = std::time::Instant::now();
    loop {
        let answer = c.command("NOOP").await;
        if answer.code == 421 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "the session outlived its time");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// The `mail` import's checks, through a fixture that queues whatever a
/// request describes: only a granted sender, only a From header that is
/// the sender, 1 to 50 valid recipients, at most 10 MiB, and only a
/// ticket of the installation's team.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mail_import_sends_only_what_it_was_granted() {
    let m = mail_server(|_| {}).await;
    m.server.install(&switchboard_artifacts::MAIL_SENDER).await.expect(201);
    // Building a 10 MiB message in the sandbox takes more than the default
    // CPU budget on a loaded machine; the point here is the host's checks.
    let enable = json!({"settings": {}, "grants": ["tickets", "mail:team"], "declined": ["mail:billing@help.example.com"],
                        "limits": {"cpu_ms": 2000, "memory_mib": 64}});
    m.server.put("/api/teams/care/plugins/mail-sender", enable).await.expect(201);
    let ticket =
        m.server.post("/api/teams/care/tickets", json!({"title": "t"})).await.expect(201)["id"].as_u64().expect("id");
    m.server.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let theirs =
        m.server.post("/api/teams/sales/tickets", json!({"title": "t"})).await.expect(201)["id"].as_u64().expect("id");
    let send = async |body: Value| {
        let r = m.server.raw(reqwest::Method::POST, "/c/care/mail-sender/send").json(&body).send().await.expect("send");
        (r.status().as_u16(), r.text().await.expect("text"))
    };
    let mail = |sender: &str, header: &str, to: Value, size: usize, ticket: u64| json!({"ticket": ticket, "sender": sender, "from_header": header, "recipients": to, "size": size});
    let (status, entry) =
        send(mail("care@help.example.com", "Care <care@help.example.com>", json!(["a@customer.example"]), 10, ticket))
            .await;
    assert_eq!(status, 200, "{entry}");
    let entry: u64 = entry.parse().expect("an entry id");
    let thread = thread_of(&m.server, ticket).await;
    let recorded = thread.iter().find(|e| e["id"] == entry).expect("the entry that records the mail");
    assert!(recorded["body"].as_str().is_some_and(|b| b.contains("a@customer.example")), "{recorded}");
    assert!(recorded["delivery"]["state"].is_string(), "{recorded}");

    let refusals = [
        (
            mail("billing@help.example.com", "billing@help.example.com", json!(["a@customer.example"]), 10, ticket),
            "mail:billing@help.example.com",
        ),
        (
            mail("other@help.example.com", "other@help.example.com", json!(["a@customer.example"]), 10, ticket),
            "not granted",
        ),
        (mail("care@help.example.com", "ceo@bank.example", json!(["a@customer.example"]), 10, ticket), "From header"),
        (mail("care@help.example.com", "care@help.example.com", json!([]), 10, ticket), "1 to 50"),
        (
            mail("care@help.example.com", "care@help.example.com", json!(vec!["a@customer.example"; 51]), 10, ticket),
            "1 to 50",
        ),
        (
            mail("care@help.example.com", "care@help.example.com", json!(["not an address"]), 10, ticket),
            "not an e-mail address",
        ),
        (
            mail(
                "care@help.example.com",
                "care@help.example.com",
                json!(["a@customer.example"]),
                10 * 1024 * 1024 + 1,
                ticket,
            ),
            "the most is",
        ),
        (
            mail("care@help.example.com", "care@help.example.com", json!(["a@customer.example"]), 10, theirs),
            "not a ticket of team",
        ),
    ];
    for (body, needle) in refusals {
        let (status, text) = send(body.clone()).await;
        assert_eq!(status, 422, "{body}: {text}");
        assert!(text.contains(needle), "{body}: {text} should mention {needle}");
    }
    let theirs_thread = thread_of(&m.server, theirs).await;
    assert!(theirs_thread.iter().all(|e| e["delivery"].is_null()), "nothing was queued on another team's ticket");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_tickets_per_sender_are_capped_and_acknowledged_as_automatic() {
    let sink = Sink::start().await;
    let relay = sink.relay();
    let m = mail_server(move |c| c.smtp.relay = Some(relay)).await;
    let settings = json!({"new_tickets_per_sender_per_hour": 2, "acknowledge_new_tickets": true});
    m.server.enable("care", "email-alias", settings, &["tickets", "mail:team"]).await.expect(200);
    for i in 0..3 {
        let mail = format!(
            "From: flood@customer.example\nSubject: Request {i}\nMessage-ID: <flood-{i}@customer.example>\n\nHelp\n"
        );
        assert_eq!(send(m.smtp, "flood@customer.example", "care+web@help.example.com", &mail).await.code, 250);
    }
    let tickets = m.server.tickets("care").await;
    assert_eq!(tickets.len(), 2, "the third new mail in an hour opened nothing: {tickets:?}");
    // Each new ticket was acknowledged, from the alias without its tag,
    // marked automatic, naming the ticket, and threaded on the mail.
    let acks =
        eventually("two acknowledgements", || async { (sink.received().len() == 2).then(|| sink.received()) }).await;
    for raw in acks {
        let ack = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
        assert_eq!(ack.header_raw("Auto-Submitted").map(str::trim), Some("auto-replied"));
        assert_eq!(ack.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@help.example.com"));
        assert!(ack.subject().is_some_and(|s| s.contains("[#")), "{:?}", ack.subject());
        assert!(ack.in_reply_to().as_text().is_some_and(|id| id.starts_with("flood-")));
    }
    // Our automatic mail coming back (an auto-responder answering it) is
    // ignored, not threaded as the customer's.
    let bounce_back =
        "From: flood@customer.example\nSubject: Auto: Re: Request 0\nAuto-Submitted: auto-replied\n\nAway\n";
    assert_eq!(send(m.smtp, "flood@customer.example", "care@help.example.com", bounce_back).await.code, 250);
    assert_eq!(m.server.tickets("care").await.len(), 2);
}

/// With the default mail domain, `localhost`, which has no dot, the team
/// still receives mail and sends its replies from its alias.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_mail_domain_receives_and_sends() {
    let sink = Sink::start().await;
    let relay = sink.relay();
    let m = mail_server(move |c| {
        c.mail_domain = "localhost".into();
        c.smtp.relay = Some(relay);
    })
    .await;
    m.server.enable("care", "email-alias", json!({}), &["tickets", "mail:team"]).await.expect(200);
    assert_eq!(send(m.smtp, "olena@customer.example", "care@localhost", FIRST).await.code, 250);
    let id = m.server.tickets("care").await[0]["id"].as_u64().expect("id");
    let entry = reply(&m.server, id, "On it.").await;
    delivery_becomes(&m.server, id, entry, "sent").await;
    let raw = sink.received().first().cloned().expect("the reply");
    let mail = mail_parser::MessageParser::default().parse(&raw).expect("a mail");
    assert_eq!(mail.from().and_then(|a| a.first()).and_then(|a| a.address()), Some("care@localhost"));
}

/// Messages being read at once share a budget: one that does not fit is
/// refused for now (452), not held in memory, and the session goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_past_the_servers_budget_is_refused_for_now() {
    let m = mail_server(|c| c.smtp.max_buffered_bytes = 8 * 1024).await;
    let (mut c, _) = Client::connect(m.smtp).await;
    assert_eq!(c.command("EHLO client.example").await.code, 250);
    let big = format!("From: a@customer.example\nSubject: big\n\n{}\n", "y".repeat(20_000));
    let refused = c.send("a@customer.example", &["care@help.example.com"], &big).await;
    assert_eq!(refused.code, 452, "{refused:?}");
    let small = "From: a@customer.example\nSubject: small\n\nok\n";
    assert_eq!(c.send("a@customer.example", &["care@help.example.com"], small).await.code, 250);
    let titles: Vec<Value> = m.server.tickets("care").await.iter().map(|t| t["title"].clone()).collect();
    assert_eq!(titles, [json!("small")]);
}
