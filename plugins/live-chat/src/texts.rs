//! What the bot and the widget say on their own, in English, Ukrainian
//! and Spanish. The admin's own texts (the welcome message, the steps)
//! are shown as written.

pub use switchboard_sdk::lang::Lang;

/// The language of a tag such as `uk`, `es-AR` or `en-GB`; English for
/// any other, and for none.
pub fn lang_of(tag: Option<&str>) -> Lang {
    tag.and_then(Lang::of).unwrap_or(Lang::En)
}

/// The bot's own texts.
pub struct BotTexts {
    /// When an answer is not one of those offered.
    pub pick_answer: &'static str,
    /// When an e-mail address does not look like one.
    pub bad_email: &'static str,
    /// When a phone number does not look like one.
    pub bad_phone: &'static str,
    /// When no operator answered in time.
    pub no_answer: &'static str,
}

/// The bot's texts in `lang`.
pub fn bot(lang: Lang) -> BotTexts {
    match lang {
        Lang::En => BotTexts {
            pick_answer: "Please choose one of the answers.",
            bad_email: "That does not look like an e-mail address. Please try again.",
            bad_phone: "That does not look like a phone number. Please try again.",
            no_answer: "Sorry, everyone is busy right now. We have your message and will get back to you.",
        },
        Lang::Uk => BotTexts {
            pick_answer: "Будь ласка, оберіть одну з відповідей.",
            bad_email: "Це не схоже на адресу електронної пошти. Спробуйте ще раз.",
            bad_phone: "Це не схоже на номер телефону. Спробуйте ще раз.",
            no_answer: "Вибачте, зараз усі зайняті. Ми отримали ваше повідомлення і відповімо вам.",
        },
        Lang::Es => BotTexts {
            pick_answer: "Por favor, elija una de las respuestas.",
            bad_email: "Eso no parece una dirección de correo electrónico. Inténtelo de nuevo.",
            bad_phone: "Eso no parece un número de teléfono. Inténtelo de nuevo.",
            no_answer: "Lo sentimos, ahora todos están ocupados. Tenemos su mensaje y le responderemos.",
        },
    }
}

/// The widget's texts in `lang`, as a JSON object the widget reads.
pub fn widget(lang: Lang) -> serde_json::Value {
    let (title, notification, placeholder, send, connecting, ended, restart, close, open) = match lang {
        Lang::En => (
            "Chat with us",
            "Have a question? Chat with us.",
            "Type a message…",
            "Send",
            "Connecting…",
            "The conversation ended.",
            "Start a new conversation",
            "Close",
            "Open the chat",
        ),
        Lang::Uk => (
            "Напишіть нам",
            "Маєте питання? Напишіть нам.",
            "Напишіть повідомлення…",
            "Надіслати",
            "З'єднання…",
            "Розмову завершено.",
            "Почати нову розмову",
            "Закрити",
            "Відкрити чат",
        ),
        Lang::Es => (
            "Chatee con nosotros",
            "¿Tiene una pregunta? Chatee con nosotros.",
            "Escriba un mensaje…",
            "Enviar",
            "Conectando…",
            "La conversación terminó.",
            "Iniciar una nueva conversación",
            "Cerrar",
            "Abrir el chat",
        ),
    };
    serde_json::json!({
        "lang": lang.tag(), "title": title, "notification": notification, "placeholder": placeholder,
        "send": send, "connecting": connecting, "ended": ended, "restart": restart, "close": close, "open": open,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_chosen_by_their_primary_tag() {
        assert_eq!(lang_of(Some("uk-UA")), Lang::Uk);
        assert_eq!(lang_of(Some("ES_ar")), Lang::Es);
        assert_eq!(lang_of(Some("de")), Lang::En);
        assert_eq!(lang_of(None), Lang::En);
    }

    #[test]
    fn every_language_has_every_widget_text() {
        let keys: Vec<String> = widget(Lang::En).as_object().expect("object").keys().cloned().collect();
        for lang in [Lang::Uk, Lang::Es] {
            let texts = widget(lang);
            for key in &keys {
                assert!(texts[key].as_str().is_some_and(|t| !t.is_empty()), "{key} in {}", lang.tag());
            }
            assert_ne!(texts["send"], widget(Lang::En)["send"], "translated");
        }
    }
}
