//! The outboxes' job payloads: the mail the `mail` import queues for the
//! server's sender, and the replies (an agent's, or a robot's through the
//! `open-lines` import) the server's reply worker hands to a channel.

use serde::{Deserialize, Serialize};

/// The queue of mail to send.
pub const MAIL_OUT_QUEUE: &str = "mail-out";

/// The queue of replies to hand to channels.
pub const REPLY_OUT_QUEUE: &str = "reply-out";

/// A reply to hand to a channel: a reply job's payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplyJob {
    /// The ticket.
    pub ticket: u64,
    /// The reply's thread entry.
    pub message: u64,
    /// The channel that delivers it; the ticket's origin when absent.
    #[serde(default)]
    pub via: Option<String>,
}

impl ReplyJob {
    /// The job that hands entry `m` of `ticket` to `via` (or the ticket's
    /// origin): keyed by the entry, so that queueing it twice hands it
    /// over once.
    pub fn delivery(ticket: u64, via: Option<String>) -> switchboard_store::DeliveryJob {
        std::sync::Arc::new(move |m: &switchboard_core::Message| switchboard_store::JobDraft {
            queue: REPLY_OUT_QUEUE.into(),
            key: format!("msg:{}", m.id),
            payload: serde_json::to_vec(&ReplyJob { ticket, message: m.id, via: via.clone() }).unwrap_or_default(),
            due_at: m.created_at,
            held_by: None,
        })
    }
}

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    /// The ticket it belongs to.
    pub ticket: u64,
    /// The thread entry that records its delivery.
    pub entry: u64,
    /// The envelope sender.
    pub from: String,
    /// The envelope recipients.
    pub to: Vec<String>,
    /// The message.
    pub raw: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Header {
    ticket: u64,
    entry: u64,
    from: String,
    to: Vec<String>,
}

impl OutboxMail {
    /// The header's length (4 bytes, big-endian), the header as JSON, then
    /// the message as it goes out.
    pub fn encode(&self) -> Vec<u8> {
        let header = Header { ticket: self.ticket, entry: self.entry, from: self.from.clone(), to: self.to.clone() };
        let json = serde_json::to_vec(&header).unwrap_or_default();
        let mut out = Vec::with_capacity(4 + json.len() + self.raw.len());
        out.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes());
        out.extend_from_slice(&json);
        out.extend_from_slice(&self.raw);
        out
    }

    /// Reads what [`OutboxMail::encode`] wrote.
    pub fn decode(payload: &[u8]) -> Result<OutboxMail, String> {
        let (len, rest) = payload.split_at_checked(4).ok_or("the payload is shorter than its header length")?;
        let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        let (json, raw) = rest.split_at_checked(len).ok_or("the payload is shorter than its header")?;
        let h: Header = serde_json::from_slice(json).map_err(|e| format!("the header is not valid: {e}"))?;
        Ok(OutboxMail { ticket: h.ticket, entry: h.entry, from: h.from, to: h.to, raw: raw.to_vec() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outbox_mail_reads_back_and_a_cut_one_is_refused() {
        let mail = OutboxMail {
            ticket: 7,
            entry: 9,
            from: "care@help.example.com".into(),
            to: vec!["a@x.example".into()],
            raw: b"From: care@help.example.com\r\n\r\nhi\r\n".to_vec(),
        };
        let encoded = mail.encode();
        assert_eq!(OutboxMail::decode(&encoded), Ok(mail));
        assert!(OutboxMail::decode(&encoded[..3]).is_err());
        assert!(OutboxMail::decode(&encoded[..9]).is_err());
    }
}
