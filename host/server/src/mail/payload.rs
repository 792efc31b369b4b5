//! How a kept message is stored in its job: a small JSON header with the
//! envelope, then the raw message as it came.

use serde::{Deserialize, Serialize};

/// The envelope of a kept message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Header {
    /// The team it reaches.
    pub team: String,
    /// The reverse path.
    pub mail_from: String,
    /// Its recipients at the team.
    pub rcpt_to: Vec<String>,
    /// The client's address.
    pub client: String,
    /// The client's EHLO name.
    pub helo: String,
}

/// The header's length (4 bytes, big-endian), the header, the message.
pub fn encode(header: &Header, raw: &[u8]) -> Vec<u8> {
    let json = serde_json::to_vec(header).unwrap_or_default();
    let mut out = Vec::with_capacity(4 + json.len() + raw.len());
    out.extend_from_slice(&u32::try_from(json.len()).unwrap_or(u32::MAX).to_be_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(raw);
    out
}

/// Reads what [`encode`] wrote.
pub fn decode(payload: &[u8]) -> Result<(Header, &[u8]), String> {
    let (len, rest) = payload.split_at_checked(4).ok_or("the payload is shorter than its header length")?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
    let (json, raw) = rest.split_at_checked(len).ok_or("the payload is shorter than its header")?;
    let header = serde_json::from_slice(json).map_err(|e| format!("the header is not valid: {e}"))?;
    Ok((header, raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_message_reads_back_and_a_cut_one_is_refused() {
        let header = Header {
            team: "care".into(),
            mail_from: String::new(),
            rcpt_to: vec!["care+7@x.example".into()],
            client: "127.0.0.1".into(),
            helo: "mx".into(),
        };
        let encoded = encode(&header, b"Subject: hi\r\n\r\nbody\r\n");
        let (back, raw) = decode(&encoded).expect("decoded");
        assert_eq!((back, raw), (header, &b"Subject: hi\r\n\r\nbody\r\n"[..]));
        assert!(decode(&encoded[..3]).is_err());
        assert!(decode(&encoded[..10]).is_err());
    }
}
