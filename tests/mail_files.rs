//! What a mail brings besides its new text, end to end over SMTP: its
//! attachments and inline images (kept up to the channel's cap, listed,
//! fetched over the API as downloads), the quoted history below a reply
//! (folded away, the whole text kept), and the raw copy of a message that
//! cannot be parsed.

mod mail_kit;
mod support;

use mail_kit::{Mail, base64_lines, mail_server, send, send_raw, thread_of};
use reqwest::Method;
use serde_json::{Value, json};
use support::{ADMIN, Server};

/// Bytes that look like nothing a browser would sniff: every byte value.
fn pdf_bytes(len: usize) -> Vec<u8> {
    let mut data = b"%PDF-1.4\n".to_vec();
    data.extend((0..len - data.len()).map(|i| (i * 7 % 256) as u8));
    data
}

/// The PNG signature and a few bytes: enough to be an image to a browser.
const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

/// A mail with text and HTML, an inline image the HTML shows, a PDF, and
/// a zip of `zip_len` bytes.
fn mail_with_files(pdf: &[u8], zip_len: usize) -> String {
    format!(
        "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: Scans of the invoice
Message-ID: <files-1@customer.example>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"mix\"

--mix
Content-Type: multipart/related; boundary=\"rel\"

--rel
Content-Type: text/html; charset=utf-8

<p>The scan is attached; the stamp looks like this: <img src=\"cid:stamp@customer.example\"></p>
--rel
Content-Type: image/png
Content-ID: <stamp@customer.example>
Content-Disposition: inline; filename=\"stamp.png\"
Content-Transfer-Encoding: base64

{png}
--rel--
--mix
Content-Type: application/pdf; name=\"=?utf-8?B?0YDQsNGF0YPQvdC+0LoucGRm?=\"
Content-Disposition: attachment
Content-Transfer-Encoding: base64

{pdf}
--mix
Content-Type: application/zip
Content-Disposition: attachment; filename=\"backup.zip\"
Content-Transfer-Encoding: base64

{zip}
--mix--
",
        png = base64_lines(PNG),
        pdf = base64_lines(pdf),
        zip = base64_lines(&vec![7u8; zip_len]),
    )
}

/// The customer entries of the only ticket of team "care".
async fn customer_entries(s: &Server) -> (u64, Vec<Value>) {
    let tickets = s.tickets("care").await;
    assert_eq!(tickets.len(), 1, "{tickets:?}");
    let id = tickets[0]["id"].as_u64().expect("id");
    let entries = thread_of(s, id).await.into_iter().filter(|m| m["kind"] == "customer").collect();
    (id, entries)
}

/// Fetches a file's content as the admin: status, headers, bytes.
async fn fetch(s: &Server, url: &str, token: Option<&str>) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = s.raw(Method::GET, url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("request");
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, response.bytes().await.expect("body").to_vec())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn attachments_are_kept_listed_and_fetched_as_downloads() {
    let Mail { server: s, smtp } = mail_server(|_| {}).await;
    s.enable("care", "email-alias", json!({"max_attachment_bytes": 100_000}), &["tickets"]).await.expect(200);
    let pdf = pdf_bytes(60_000);
    let raw = mail_with_files(&pdf, 150_000);
    let answer = send(smtp, "olena@customer.example", "care@help.example.com", &raw).await;
    assert_eq!(answer.code, 250, "{answer:?}");

    let (ticket, entries) = customer_entries(&s).await;
    let files = entries[0]["attachments"].as_array().expect("attachments").clone();
    let listed: Vec<_> = files
        .iter()
        .map(|f| (f["name"].as_str().unwrap_or("?"), f["content_type"].as_str().unwrap_or("?"), f["size"].as_u64()))
        .collect();
    assert_eq!(
        listed,
        [
            ("stamp.png", "image/png", Some(PNG.len() as u64)),
            ("рахунок.pdf", "application/pdf", Some(60_000)),
            ("backup.zip", "application/zip", Some(150_000)),
        ]
    );
    assert_eq!(
        (files[0]["inline"].as_bool(), files[0]["content_id"].as_str()),
        (Some(true), Some("stamp@customer.example"))
    );
    assert_eq!(files[1]["inline"], false);
    assert_eq!(files[2]["dropped"], "larger than the 100000-byte cap for attachments");
    assert!(files[2]["url"].is_null(), "a dropped file has nothing to fetch: {}", files[2]);
    assert!(entries[0]["body"].as_str().is_some_and(|b| b.contains("The scan is attached")), "{}", entries[0]);

    // The PDF comes back byte for byte, as a download under its own name.
    let url = files[1]["url"].as_str().expect("url");
    let (status, headers, body) = fetch(&s, url, Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert!(body == pdf, "the content differs: {} bytes", body.len());
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    assert_eq!(header("content-type"), "application/pdf");
    assert_eq!(
        header("content-disposition"),
        "attachment; filename=\"_______.pdf\"; filename*=UTF-8''%D1%80%D0%B0%D1%85%D1%83%D0%BD%D0%BE%D0%BA.pdf"
    );
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert!(header("content-security-policy").starts_with("sandbox"), "{headers:?}");
    // The inline image may show in the page; it is still sandboxed.
    let (status, headers, body) = fetch(&s, files[0]["url"].as_str().expect("url"), Some(ADMIN)).await;
    assert_eq!((status, body.as_slice()), (200, PNG));
    assert!(headers["content-disposition"].to_str().is_ok_and(|d| d.starts_with("inline; filename=\"stamp.png\"")));

    // Files are behind a token like the rest of the API, and a file that
    // was dropped, or is not there, is a 404 that says which.
    assert_eq!(fetch(&s, url, None).await.0, 401);
    let entry = entries[0]["id"].as_u64().expect("id");
    let base = format!("/api/tickets/{ticket}/messages/{entry}/attachments");
    s.get(&format!("{base}/2")).await.expect_error(404, "not_found", "has no kept file 2");
    s.get(&format!("{base}/3")).await.expect_error(404, "not_found", "has no kept file 3");
    s.get(&format!("{base}/x")).await.expect_error(404, "not_found", "unknown file \"x\"");
    s.get(&format!("/api/tickets/{ticket}/messages/999999/attachments/0")).await.expect_error(
        404,
        "not_found",
        "has no message 999999",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quoted_history_is_folded_away_and_the_whole_text_kept() {
    let Mail { server: s, smtp } = mail_server(|_| {}).await;
    let first = "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: The printer is on fire
Message-ID: <fold-1@customer.example>

It started this morning.
";
    assert_eq!(send(smtp, "olena@customer.example", "care@help.example.com", first).await.code, 250);
    let reply = "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: Re: The printer is on fire
Message-ID: <fold-2@customer.example>
In-Reply-To: <fold-1@customer.example>

It is out now, thanks.

On Tue, 1 Dec 2026 at 10:00, Olena Koval <olena@customer.example> wrote:
> It started this morning.
";
    assert_eq!(send(smtp, "olena@customer.example", "care@help.example.com", reply).await.code, 250);
    let outlook = "From: Olena Koval <olena@customer.example>
To: care@help.example.com
Subject: RE: The printer is on fire
Message-ID: <fold-3@customer.example>
In-Reply-To: <fold-2@customer.example>

One more thing: the tray is bent.

-----Original Message-----
From: Olena Koval <olena@customer.example>
Sent: Tuesday, 1 December 2026 11:00
Subject: Re: The printer is on fire

It is out now, thanks.
";
    assert_eq!(send(smtp, "olena@customer.example", "care@help.example.com", outlook).await.code, 250);

    let (_, entries) = customer_entries(&s).await;
    let bodies: Vec<_> = entries.iter().map(|e| e["body"].as_str().unwrap_or("?")).collect();
    assert_eq!(bodies, ["It started this morning.", "It is out now, thanks.", "One more thing: the tray is bent."]);
    assert!(entries[0]["full_body"].is_null(), "nothing was folded: {}", entries[0]);
    let full = entries[1]["full_body"].as_str().expect("the whole text");
    assert!(full.contains("wrote:\n> It started this morning."), "{full}");
    let full = entries[2]["full_body"].as_str().expect("the whole text");
    assert!(full.contains("-----Original Message-----\nFrom: Olena Koval"), "{full}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_message_keeps_its_raw_copy() {
    let Mail { server: s, smtp } = mail_server(|_| {}).await;
    // No header at all: the parser finds no message in it.
    let raw: &[u8] = b"\r\n\x00\x01 not a message \xff\xfe\r\nsecond line\r\n";
    assert_eq!(send_raw(smtp, "garbage@customer.example", raw).await.code, 250);
    let tickets = s.tickets("care").await;
    assert!(tickets[0]["title"].as_str().is_some_and(|t| t.starts_with("Unreadable message")), "{tickets:?}");
    let id = tickets[0]["id"].as_u64().expect("id");
    let thread = thread_of(&s, id).await;
    let copy = thread.iter().find_map(|m| m["attachments"].as_array().and_then(|a| a.first()).cloned());
    let copy = copy.expect("an entry with the raw copy");
    assert_eq!(copy["content_type"], "message/rfc822");
    let (status, headers, body) = fetch(&s, copy["url"].as_str().expect("url"), Some(ADMIN)).await;
    assert_eq!(status, 200);
    assert!(body == raw, "the raw copy differs: {:?}", String::from_utf8_lossy(&body));
    assert!(headers["content-disposition"].to_str().is_ok_and(|d| d.starts_with("attachment;")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_attachment_cap_setting_is_checked() {
    let Mail { server: s, .. } = mail_server(|_| {}).await;
    let too_big = json!({"max_attachment_bytes": 26_214_401});
    let answer = s.enable("care", "email-alias", too_big, &["tickets"]).await;
    assert!(answer.status == 422 && answer.text.contains("max_attachment_bytes"), "{answer:?}");
}

/// With the settings and limits left as they are, a 23 MB mail is handled:
/// its CPU budget grows with its size (the installation's 100 ms would not
/// do), and it fits the default 64 MiB of memory. A
/// 7 MB attachment is kept whole, and one just past 10 MB is listed as
/// dropped with the default cap in the reason.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_cap_keeps_a_large_attachment_within_the_default_limits() {
    let Mail { server: s, smtp } = mail_server(|_| {}).await;
    let pdf = pdf_bytes(7_000_000);
    let answer =
        send(smtp, "olena@customer.example", "care@help.example.com", &mail_with_files(&pdf, 10_000_001)).await;
    assert_eq!(answer.code, 250, "{answer:?}");
    let (_, entries) = customer_entries(&s).await;
    let files = entries[0]["attachments"].as_array().expect("attachments").clone();
    assert_eq!(files[1]["size"], 7_000_000);
    assert_eq!(files[2]["dropped"], "larger than the 10000000-byte cap for attachments");
    let (status, _, body) = fetch(&s, files[1]["url"].as_str().expect("url"), Some(ADMIN)).await;
    assert!(status == 200 && body == pdf, "{status}, {} bytes", body.len());
}

/// `tickets.append-entry` as any plugin meets it: the entry is written
/// with its files and whole text, a customer entry is the contact's, a
/// file that breaks a rule refuses the whole entry naming the file and
/// field, and the grant and the team are checked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_entry_import_keeps_files_and_refuses_a_bad_one_whole() {
    let Mail { server: s, smtp } = mail_server(|_| {}).await;
    s.install(&switchboard_artifacts::MAIL_SENDER).await.expect(201);
    let enable = |grants: Value, declined: Value| json!({"settings": {}, "grants": grants, "declined": declined});
    let all = json!(["tickets", "mail:team", "mail:billing@help.example.com"]);
    s.put("/api/teams/care/plugins/mail-sender", enable(all, json!([]))).await.expect(201);
    let first = "From: Olena Koval <olena@customer.example>\nTo: care@help.example.com\nSubject: Hi\n\nHello\n";
    assert_eq!(send(smtp, "olena@customer.example", "care@help.example.com", first).await.code, 250);
    let (ticket, before) = customer_entries(&s).await;
    let post = async |body: Value| {
        let r = s.raw(Method::POST, "/c/care/mail-sender/entry").json(&body).send().await.expect("post");
        (r.status().as_u16(), r.text().await.expect("text"))
    };
    let files = json!([{"name": "a.txt", "size": 3}, {"name": "big.iso", "size": 9, "dropped": "too big"}]);
    let (status, id) =
        post(json!({"ticket": ticket, "body": "Short", "full_body": "Short\n> long", "files": files})).await;
    assert_eq!(status, 200, "{id}");
    let (_, entries) = customer_entries(&s).await;
    let entry = entries.last().expect("the entry");
    assert_eq!(entry["id"].as_u64().map(|i| i.to_string()), Some(id));
    assert_eq!((entry["body"].as_str(), entry["full_body"].as_str()), (Some("Short"), Some("Short\n> long")));
    assert_eq!(entry["author"]["type"], "contact", "a customer entry is the contact's: {entry}");
    assert_eq!(entry["attachments"][0]["size"], 3);
    assert_eq!(entry["attachments"][1]["dropped"], "too big");

    let bad = json!([{"name": "ok.txt", "size": 1}, {"name": "../etc/passwd", "size": 1}]);
    let (status, text) = post(json!({"ticket": ticket, "body": "x", "files": bad})).await;
    assert!(status == 422 && text.contains("Permanent") && text.contains("attachments: [1].name"), "{text}");
    let many: Vec<Value> = (0..101).map(|i| json!({"name": format!("{i}.txt"), "size": 1})).collect();
    let (status, text) = post(json!({"ticket": ticket, "body": "x", "files": many})).await;
    assert!(status == 422 && text.contains("more than 100 files"), "{text}");
    assert_eq!(customer_entries(&s).await.1.len(), before.len() + 1, "refused entries left nothing");

    s.post("/api/teams", json!({"name": "Sales"})).await.expect(201);
    let theirs = s.post("/api/teams/sales/tickets", json!({"title": "t"})).await.expect(201)["id"].clone();
    let (status, text) = post(json!({"ticket": theirs, "body": "x"})).await;
    assert!(status == 422 && text.contains("NotFound"), "{text}");
    let declined = json!(["tickets", "mail:billing@help.example.com"]);
    s.put("/api/teams/care/plugins/mail-sender", enable(json!(["mail:team"]), declined)).await.expect(200);
    let (status, text) = post(json!({"ticket": ticket, "body": "x"})).await;
    assert!(status == 422 && text.contains("Denied") && text.contains("tickets"), "{text}");
}
