//! Refuses JSON documents in which an object repeats a key.
//!
//! RFC 8259 leaves a repeated key's meaning to the reader, and readers
//! differ: `serde_json` keeps the last value, other parsers the first. A
//! request whose meaning depends on the reader is refused, so that a
//! proxy, a log and the server never see two different requests in one
//! body. [`check`] walks the document once, in time linear in its size,
//! and names the repeated key by its JSON pointer.

use std::collections::HashSet;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

/// Checks that `json` is valid JSON in which no object repeats a key. The
/// error is serde_json's, so it says where: `duplicate key "a" at /fields
/// at line 1 column 20`.
pub fn check(json: &[u8]) -> Result<(), serde_json::Error> {
    let mut deserializer = serde_json::Deserializer::from_slice(json);
    let mut pointer = String::new();
    Walk { pointer: &mut pointer }.deserialize(&mut deserializer)?;
    deserializer.end()
}

/// A visitor for one value at `pointer`; it descends into arrays and
/// objects and ignores everything else.
struct Walk<'p> {
    pointer: &'p mut String,
}

impl Walk<'_> {
    /// The pointer of the document's root is empty; a person reads it as `/`.
    fn shown(&self) -> &str {
        if self.pointer.is_empty() { "/" } else { self.pointer }
    }

    /// Appends one reference token, escaped as RFC 6901 says.
    fn push(&mut self, token: &str) {
        self.pointer.push('/');
        for c in token.chars() {
            match c {
                '~' => self.pointer.push_str("~0"),
                '/' => self.pointer.push_str("~1"),
                c => self.pointer.push(c),
            }
        }
    }
}

impl<'de> DeserializeSeed<'de> for Walk<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Walk<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let mut index = 0usize;
        loop {
            let len = self.pointer.len();
            self.push(&index.to_string());
            let more = seq.next_element_seed(Walk { pointer: self.pointer })?;
            self.pointer.truncate(len);
            if more.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if seen.contains(&key) {
                return Err(A::Error::custom(format!("duplicate key \"{key}\" in the object at {}", self.shown())));
            }
            let len = self.pointer.len();
            self.push(&key);
            map.next_value_seed(Walk { pointer: self.pointer })?;
            self.pointer.truncate(len);
            seen.insert(key);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::check;

    fn error(json: &str) -> String {
        check(json.as_bytes()).expect_err(json).to_string()
    }

    #[test]
    fn a_repeated_key_is_named_with_where_it_is() {
        assert!(error(r#"{"a": 1, "a": 2}"#).starts_with(r#"duplicate key "a" in the object at / at line 1"#));
        let nested = r#"{"settings": {"fields": [{"name": "x"}, {"name": "y", "name": "z"}]}}"#;
        assert!(error(nested).contains(r#"duplicate key "name" in the object at /settings/fields/1"#));
        assert!(error(r#"{"a/b": {"~": 1, "~": 2}}"#).contains("at /a~1b"));
    }

    #[test]
    fn the_same_key_in_different_objects_is_fine() {
        check(br#"{"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]}"#).expect("distinct objects");
        check(br#""text""#).expect("a scalar document");
    }

    #[test]
    fn escaped_spellings_of_one_key_are_one_key() {
        assert!(error(r#"{"a": 1, "\u0061": 2}"#).contains(r#"duplicate key "a""#));
    }

    #[test]
    fn invalid_json_and_trailing_data_are_errors() {
        assert!(check(b"{").is_err());
        assert!(check(b"{} {}").is_err());
    }

    proptest! {
        #[test]
        fn agrees_with_serde_json_on_documents_without_repeats(value in any::<std::collections::BTreeMap<String, Vec<u8>>>()) {
            let json = serde_json::to_vec(&value).expect("serialize");
            prop_assert!(check(&json).is_ok());
        }
    }
}
