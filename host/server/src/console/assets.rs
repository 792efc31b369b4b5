//! The console's files, built into the binary: templates, scripts and the
//! stylesheet. Nothing is fetched from elsewhere at run time, and there is
//! no build step: the scripts are plain JavaScript modules.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::Path;

/// The page templates, by name.
pub(crate) const TEMPLATES: [(&str, &str); 11] = [
    ("layout.html", include_str!("templates/layout.html")),
    ("sign-in.html", include_str!("templates/sign-in.html")),
    ("forbidden.html", include_str!("templates/forbidden.html")),
    ("board.html", include_str!("templates/board.html")),
    ("ticket.html", include_str!("templates/ticket.html")),
    ("chat.html", include_str!("templates/chat.html")),
    ("sessions.html", include_str!("templates/sessions.html")),
    ("admin-teams.html", include_str!("templates/admin-teams.html")),
    ("admin-team.html", include_str!("templates/admin-team.html")),
    ("admin-users.html", include_str!("templates/admin-users.html")),
    ("admin-plugins.html", include_str!("templates/admin-plugins.html")),
];

/// The text files under `/console/assets/`, by name, with their types;
/// `chime.wav` is made by [`chime`].
const FILES: [(&str, &str, &str); 9] = [
    ("console.css", "text/css; charset=utf-8", include_str!("assets/console.css")),
    ("common.js", "text/javascript; charset=utf-8", include_str!("assets/common.js")),
    ("board.js", "text/javascript; charset=utf-8", include_str!("assets/board.js")),
    ("ticket.js", "text/javascript; charset=utf-8", include_str!("assets/ticket.js")),
    ("chat.js", "text/javascript; charset=utf-8", include_str!("assets/chat.js")),
    ("sessions.js", "text/javascript; charset=utf-8", include_str!("assets/sessions.js")),
    ("admin.js", "text/javascript; charset=utf-8", include_str!("assets/admin.js")),
    ("settings-form.js", "text/javascript; charset=utf-8", include_str!("assets/settings-form.js")),
    ("automation.js", "text/javascript; charset=utf-8", include_str!("assets/automation.js")),
];

/// `/console/assets/{name}`.
pub(crate) async fn asset(Path(name): Path<String>) -> Response {
    if name == "chime.wav" {
        let mut response = chime().into_response();
        super::secure_headers(response.headers_mut(), "audio/wav");
        return response;
    }
    match FILES.iter().find(|(file, _, _)| *file == name) {
        Some((_, content_type, body)) => {
            let mut response = (StatusCode::OK, *body).into_response();
            super::secure_headers(response.headers_mut(), content_type);
            response
        }
        None => ApiError::not_found(format!("no console file \"{name}\"")).into_response(),
    }
}

/// A short chime for a new chat, made here rather than shipped as a
/// binary file: a 0.2 s, 880 Hz tone fading out, 8 kHz 8-bit mono WAV.
fn chime() -> Vec<u8> {
    const RATE: u32 = 8000;
    let samples: Vec<u8> = (0..RATE / 5)
        .map(|i| {
            let t = f64::from(i) / f64::from(RATE);
            let fade = 1.0 - f64::from(i) / f64::from(RATE / 5);
            (128.0 + 90.0 * fade * (2.0 * std::f64::consts::PI * 880.0 * t).sin()) as u8
        })
        .collect();
    let len = samples.len() as u32;
    let mut wav = Vec::with_capacity(44 + samples.len());
    wav.extend_from_slice(b"RIFF");
    wav.extend_from_slice(&(36 + len).to_le_bytes());
    wav.extend_from_slice(b"WAVEfmt ");
    wav.extend_from_slice(&16u32.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&RATE.to_le_bytes());
    wav.extend_from_slice(&1u16.to_le_bytes());
    wav.extend_from_slice(&8u16.to_le_bytes());
    wav.extend_from_slice(b"data");
    wav.extend_from_slice(&len.to_le_bytes());
    wav.extend_from_slice(&samples);
    wav
}

/// Every catalog key the templates (`t.key`) and scripts (`t('key')`)
/// use, for the test that the English catalog has them all.
#[cfg(test)]
pub(crate) fn used_keys() -> std::collections::BTreeSet<String> {
    let mut keys = std::collections::BTreeSet::new();
    let word = |rest: &str| -> String {
        rest.chars().take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_').collect()
    };
    for (_, source) in TEMPLATES {
        for (i, _) in source.match_indices("t.") {
            let before = source[..i].chars().next_back();
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                continue;
            }
            let key = word(&source[i + 2..]);
            if !key.is_empty() {
                keys.insert(key);
            }
        }
    }
    for (_, _, source) in FILES {
        for marker in ["t('", "data-i18n=\""] {
            for (i, _) in source.match_indices(marker) {
                let before = source[..i].chars().next_back();
                if marker == "t('" && before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    continue;
                }
                let key = word(&source[i + marker.len()..]);
                if !key.is_empty() {
                    keys.insert(key);
                }
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chime_is_a_wav_file_of_its_stated_length() {
        let wav = chime();
        assert_eq!(&wav[..4], b"RIFF");
        assert_eq!(u32::from_le_bytes([wav[4], wav[5], wav[6], wav[7]]) as usize, wav.len() - 8);
    }
}
