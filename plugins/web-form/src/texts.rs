//! What the form says on its own, in English, Ukrainian and Spanish: its
//! messages, and the defaults of the texts an admin may set. An admin's
//! own texts are shown as written; a default they left alone is shown in
//! the visitor's language.
//!
//! Every message has its three texts side by side in one `match`, so a
//! language cannot be missing for a message: the build fails first. The
//! tests check that no text is empty and that each language uses the same
//! `{values}`.

use switchboard_sdk::http::Request;
pub use switchboard_sdk::lang::Lang;

/// The visitor's language: `?lang=` if it names one, else the browser's
/// `Accept-Language` by weight, else English.
pub fn lang_for(request: &Request) -> Lang {
    request
        .query_param("lang")
        .as_deref()
        .and_then(Lang::of)
        .or_else(|| request.header("accept-language").and_then(Lang::from_accept_language))
        .unwrap_or(Lang::En)
}

/// A text's place in the `[en, uk, es]` arrays below.
fn index(lang: Lang) -> usize {
    match lang {
        Lang::En => 0,
        Lang::Uk => 1,
        Lang::Es => 2,
    }
}

/// A message of the form's own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Msg {
    /// A required field left empty.
    Required,
    /// Line breaks in a one-line field.
    SingleLine,
    /// Control characters.
    NoControls,
    /// Text-direction controls.
    NoBidi,
    /// Too long: `{max}`, `{count}`.
    TooLong,
    /// Not an e-mail address.
    Email,
    /// Not a phone number.
    Phone,
    /// Not a web address.
    Url,
    /// Not one of a select's options.
    ChooseOption,
    /// A JSON value that is not text.
    SendAsText,
    /// A value the host refused.
    CheckText,
    /// A name the host refused.
    CheckName,
    /// The page title after errors: `{title}`.
    CheckForm,
    /// One field with an error.
    OneField,
    /// `{n}` fields with errors, for counts whose form is "few" in
    /// Ukrainian (2-4, 22-24, …).
    FewFields,
    /// `{n}` fields with errors, for the other counts.
    ManyFields,
    /// The honeypot's label, which only robots see.
    Honeypot,
    /// A select's empty choice.
    Choose,
    /// When a field is needed: `{label}`, `{value}`.
    OnlyWhen,
    /// On the thank-you page, before the ticket number.
    Reference,
    /// The link back to the form.
    SendAnother,
    /// Too many submissions: `{minutes}`.
    TooMany,
    /// The host failed for now.
    TryLater,
    /// The host refused what was entered.
    NotAccepted,
    /// The form is set up wrongly.
    Unavailable,
    /// The form is switched off.
    NotPublished,
}

impl Msg {
    /// Every message, for the tests.
    #[cfg(test)]
    const ALL: [Msg; 26] = [
        Msg::Required,
        Msg::SingleLine,
        Msg::NoControls,
        Msg::NoBidi,
        Msg::TooLong,
        Msg::Email,
        Msg::Phone,
        Msg::Url,
        Msg::ChooseOption,
        Msg::SendAsText,
        Msg::CheckText,
        Msg::CheckName,
        Msg::CheckForm,
        Msg::OneField,
        Msg::FewFields,
        Msg::ManyFields,
        Msg::Honeypot,
        Msg::Choose,
        Msg::OnlyWhen,
        Msg::Reference,
        Msg::SendAnother,
        Msg::TooMany,
        Msg::TryLater,
        Msg::NotAccepted,
        Msg::Unavailable,
        Msg::NotPublished,
    ];

    /// English, Ukrainian, Spanish.
    fn texts(self) -> [&'static str; 3] {
        match self {
            Msg::Required => ["This field is required", "Це поле обов’язкове", "Este campo es obligatorio"],
            Msg::SingleLine => ["Use a single line", "Напишіть в один рядок", "Escriba en una sola línea"],
            Msg::NoControls => [
                "Remove the tabs and control characters from this field",
                "Приберіть із цього поля табуляції та керівні символи",
                "Quite de este campo las tabulaciones y los caracteres de control",
            ],
            Msg::NoBidi => [
                "Remove the text-direction control characters from this field",
                "Приберіть із цього поля символи керування напрямком тексту",
                "Quite de este campo los caracteres de control de dirección del texto",
            ],
            Msg::TooLong => [
                "Use at most {max} characters (this has {count})",
                "Не більше {max} символів (тут {count})",
                "Use como máximo {max} caracteres (tiene {count})",
            ],
            Msg::Email => [
                "Enter an e-mail address such as name@example.com",
                "Введіть адресу електронної пошти, наприклад name@example.com",
                "Escriba una dirección de correo como nombre@example.com",
            ],
            Msg::Phone => [
                "Enter a phone number with its country code, such as +44 20 7946 0958",
                "Введіть номер телефону з кодом країни, наприклад +380 44 123 4567",
                "Escriba un teléfono con el código del país, como +34 912 345 678",
            ],
            Msg::Url => [
                "Enter a web address that starts with https://",
                "Введіть вебадресу, що починається з https://",
                "Escriba una dirección web que empiece por https://",
            ],
            Msg::ChooseOption => {
                ["Choose one of the options", "Оберіть один із варіантів", "Elija una de las opciones"]
            }
            Msg::SendAsText => [
                "Send this field's value as text",
                "Надішліть значення цього поля як текст",
                "Envíe el valor de este campo como texto",
            ],
            Msg::CheckText => [
                "Check this text; it cannot be accepted as written",
                "Перевірте цей текст: у такому вигляді його не можна прийняти",
                "Revise este texto: no se puede aceptar tal como está",
            ],
            Msg::CheckName => [
                "Check this name; it cannot be accepted as written",
                "Перевірте це ім’я: у такому вигляді його не можна прийняти",
                "Revise este nombre: no se puede aceptar tal como está",
            ],
            Msg::CheckForm => [
                "Please check the form: {title}",
                "Перевірте, будь ласка, форму: {title}",
                "Revise el formulario: {title}",
            ],
            Msg::OneField => ["1 field needs attention", "1 поле потребує уваги", "1 campo necesita atención"],
            Msg::FewFields => {
                ["{n} fields need attention", "{n} поля потребують уваги", "{n} campos necesitan atención"]
            }
            Msg::ManyFields => {
                ["{n} fields need attention", "{n} полів потребують уваги", "{n} campos necesitan atención"]
            }
            Msg::Honeypot => ["Leave this field empty", "Залиште це поле порожнім", "Deje este campo vacío"],
            Msg::Choose => ["Choose…", "Оберіть…", "Elija…"],
            Msg::OnlyWhen => [
                "Only needed when “{label}” is “{value}”.",
                "Потрібно, лише коли «{label}» — «{value}».",
                "Solo hace falta cuando «{label}» es «{value}».",
            ],
            Msg::Reference => ["Your reference:", "Номер вашого звернення:", "Su referencia:"],
            Msg::SendAnother => ["Send another request", "Надіслати ще одне звернення", "Enviar otra solicitud"],
            Msg::TooMany => [
                "Too many submissions from your address. Please try again in {minutes} min.",
                "Забагато звернень з вашої адреси. Спробуйте ще раз за {minutes} хв.",
                "Demasiados envíos desde su dirección. Inténtelo de nuevo en {minutes} min.",
            ],
            Msg::TryLater => [
                "Your request could not be saved just now. Please try again in a moment.",
                "Зараз не вдалося зберегти ваше звернення. Спробуйте ще раз за хвилину.",
                "Ahora no se pudo guardar su solicitud. Inténtelo de nuevo en un momento.",
            ],
            Msg::NotAccepted => [
                "Your request could not be accepted as entered. Please check it and send it again.",
                "Ваше звернення не можна прийняти в такому вигляді. Перевірте його й надішліть ще раз.",
                "Su solicitud no se puede aceptar tal como está. Revísela y envíela de nuevo.",
            ],
            Msg::Unavailable => [
                "This form cannot take requests at the moment. Please reach us another way.",
                "Зараз ця форма не приймає звернень. Зв’яжіться з нами іншим способом.",
                "Este formulario no admite solicitudes en este momento. Contáctenos de otra forma.",
            ],
            Msg::NotPublished => {
                ["This form is not published.", "Ця форма не опублікована.", "Este formulario no está publicado."]
            }
        }
    }

    /// The text in `lang`.
    pub fn text(self, lang: Lang) -> &'static str {
        self.texts()[index(lang)]
    }

    /// The text in `lang` with `{name}` values filled in.
    pub fn with(self, lang: Lang, values: &[(&str, &str)]) -> String {
        let mut text = self.text(lang).to_owned();
        for (name, value) in values {
            text = text.replace(&format!("{{{name}}}"), value);
        }
        text
    }
}

/// "`n` fields need attention", in the plural form `lang` uses for `n`.
pub fn fields_need_attention(lang: Lang, n: usize) -> String {
    let msg = match (lang, n) {
        (_, 1) => Msg::OneField,
        // Ukrainian: 2-4, 22-24, … but not 12-14 take the "few" form.
        (Lang::Uk, n) if (2..=4).contains(&(n % 10)) && !(12..=14).contains(&(n % 100)) => Msg::FewFields,
        (Lang::Uk, n) if n % 10 == 1 && n % 100 != 11 => Msg::OneField,
        _ => Msg::ManyFields,
    };
    msg.with(lang, &[("n", &n.to_string())])
}

/// The defaults of the texts an admin may set (and of the default form's
/// labels), in English, Ukrainian and Spanish.
const DEFAULTS: [[&str; 3]; 7] = [
    ["Contact support", "Зв’язатися з підтримкою", "Contactar con soporte"],
    [
        "Thank you. We have received your request and will answer soon.",
        "Дякуємо! Ми отримали ваше звернення й незабаром відповімо.",
        "Gracias. Hemos recibido su solicitud y le responderemos pronto.",
    ],
    ["Send", "Надіслати", "Enviar"],
    ["Your name", "Ваше ім’я", "Su nombre"],
    ["E-mail", "Електронна пошта", "Correo electrónico"],
    ["Subject", "Тема", "Asunto"],
    ["How can we help?", "Чим ми можемо допомогти?", "¿En qué podemos ayudarle?"],
];

/// `text` in `lang` if it is one of the defaults; an admin's own text as
/// written.
pub fn shown(lang: Lang, text: &str) -> &str {
    DEFAULTS.iter().find(|d| d[0] == text).map_or(text, |d| d[index(lang)])
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn placeholders(text: &str) -> BTreeSet<&str> {
        text.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(name, _)| name)).collect()
    }

    #[test]
    fn every_message_has_every_language_with_the_same_values() {
        for msg in Msg::ALL {
            let [en, uk, es] = msg.texts();
            for (lang, text) in [("uk", uk), ("es", es)] {
                assert!(!text.trim().is_empty(), "{msg:?} has no {lang} text");
                assert_eq!(placeholders(text), placeholders(en), "{msg:?} in {lang} must use English's values");
            }
        }
        for row in DEFAULTS {
            assert!(row.iter().all(|t| !t.trim().is_empty()), "{row:?}");
        }
    }

    #[test]
    fn ukrainian_counts_take_their_plural_forms() {
        assert_eq!(fields_need_attention(Lang::Uk, 1), "1 поле потребує уваги");
        assert_eq!(fields_need_attention(Lang::Uk, 3), "3 поля потребують уваги");
        assert_eq!(fields_need_attention(Lang::Uk, 5), "5 полів потребують уваги");
        assert_eq!(fields_need_attention(Lang::Uk, 12), "12 полів потребують уваги");
        assert_eq!(fields_need_attention(Lang::Uk, 22), "22 поля потребують уваги");
        assert_eq!(fields_need_attention(Lang::En, 2), "2 fields need attention");
    }

    #[test]
    fn defaults_are_shown_in_the_visitors_language_and_an_admins_text_as_written() {
        assert_eq!(shown(Lang::Es, "Send"), "Enviar");
        assert_eq!(shown(Lang::Uk, "Contact support"), "Зв’язатися з підтримкою");
        assert_eq!(shown(Lang::Uk, "Write to us"), "Write to us");
    }

    fn request(query: &str, accept: &str) -> Request {
        Request {
            method: "GET".into(),
            path: "/".into(),
            query: query.into(),
            headers: vec![("Accept-Language".into(), accept.into())],
            body: Vec::new(),
            client_addr: "127.0.0.1".into(),
        }
    }

    #[test]
    fn the_language_comes_from_the_query_then_the_browser_by_weight() {
        assert_eq!(lang_for(&request("", "")), Lang::En);
        assert_eq!(lang_for(&request("", "de, es;q=0.5, uk;q=0.8")), Lang::Uk);
        assert_eq!(lang_for(&request("", "uk;q=0, es-MX")), Lang::Es);
        assert_eq!(lang_for(&request("lang=uk", "es")), Lang::Uk);
        assert_eq!(lang_for(&request("lang=fr", "fr, de")), Lang::En);
    }
}
