//! E-mail to a team's alias, end to end: real SMTP clients (lettre, and a
//! plain socket where the test needs to control every byte) against the
//! real server's listener, the shipped `email-alias` plugin, and the API.

mod mail_kit;
mod support;

use std::sync::Arc;
use std::time::Duration;

use mail_kit::{Client, FIRST, customer_bodies, mail_server, send, thread_of};
use serde_json::{Value, json};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

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
