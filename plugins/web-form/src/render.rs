//! The HTML pages: the form, with values kept and errors beside their
//! fields, and the thank-you page. Every piece of text from settings or
//! from a client goes through `escape_html`.

use std::fmt::Write;

use switchboard_sdk::http::escape_html as esc;

use crate::settings::{Field, InputType, LabelPosition, Settings, Target, Visibility};
use crate::submission::{FieldErrors, Values};
use crate::texts::{Lang, Msg, fields_need_attention, shown as in_lang};

/// What the form page shows besides the fields.
#[derive(Debug)]
pub struct FormState<'a> {
    /// The values to put in the inputs.
    pub values: &'a Values,
    /// Messages beside bad fields.
    pub errors: &'a FieldErrors,
    /// A message about the whole submission, such as a rate limit.
    pub notice: Option<&'a str>,
    /// The visitor's language.
    pub lang: Lang,
}

/// The value an input shows: what was sent or pre-filled, else its
/// default.
fn shown<'a>(field: &'a Field, values: &'a Values) -> &'a str {
    values.get(&field.name).unwrap_or(&field.default)
}

fn head(out: &mut String, title: &str, lang: Lang) {
    let _ = write!(
        out,
        "<!doctype html>\n<html lang=\"{}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<link rel=\"stylesheet\" href=\"form.css\">\n\
         <script src=\"form.js\" defer></script>\n</head>\n<body>\n<main class=\"sb-form\">\n<h1>{}</h1>\n",
        lang.tag(),
        esc(title),
        esc(title)
    );
}

/// Paragraphs separated by blank lines, with single line breaks kept.
fn paragraphs(out: &mut String, text: &str, class: &str) {
    let normalized = text.replace("\r\n", "\n");
    for para in normalized.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        let lines: Vec<String> = para.lines().map(esc).collect();
        let _ = writeln!(out, "<p class=\"{class}\">{}</p>", lines.join("<br>\n"));
    }
}

/// The form page.
pub fn form_page(settings: &Settings, form: &[Field], state: &FormState<'_>) -> String {
    let mut out = String::with_capacity(4096);
    let lang = state.lang;
    let own_title = in_lang(lang, &settings.title);
    let title =
        if state.errors.is_empty() { own_title.to_owned() } else { Msg::CheckForm.with(lang, &[("title", own_title)]) };
    head(&mut out, &title, lang);
    paragraphs(&mut out, &settings.intro, "intro");
    if !state.errors.is_empty() {
        let count = state.errors.0.len();
        let _ = write!(
            out,
            "<div class=\"summary\" id=\"errors\" role=\"alert\" tabindex=\"-1\">\n<h2>{}</h2>\n<ul>\n",
            fields_need_attention(lang, count)
        );
        for (name, message) in &state.errors.0 {
            let label = form.iter().find(|f| f.name == *name).map_or(name.as_str(), |f| in_lang(lang, &f.label));
            let _ = writeln!(out, "<li><a href=\"#f-{}\">{}: {}</a></li>", esc(name), esc(label), esc(message));
        }
        out.push_str("</ul>\n</div>\n");
    }
    if let Some(notice) = state.notice {
        let _ = writeln!(out, "<div class=\"notice\" role=\"alert\">{}</div>", esc(notice));
    }
    out.push_str("<form method=\"post\" action=\"./\" accept-charset=\"utf-8\">\n");
    for field in form {
        field_html(&mut out, field, form, state);
    }
    let _ = write!(
        out,
        "<div class=\"hp\" aria-hidden=\"true\">\n<label for=\"f-{hp}\">{}</label>\n\
         <input id=\"f-{hp}\" name=\"{hp}\" type=\"text\" value=\"\" tabindex=\"-1\" autocomplete=\"off\">\n</div>\n\
         <div class=\"actions\"><button type=\"submit\">{}</button></div>\n</form>\n</main>\n</body>\n</html>\n",
        Msg::Honeypot.text(lang),
        esc(in_lang(lang, &settings.submit_label)),
        hp = esc(&settings.honeypot),
    );
    out
}

fn field_html(out: &mut String, field: &Field, form: &[Field], state: &FormState<'_>) {
    let name = esc(&field.name);
    let value = shown(field, state.values);
    if field.visibility == Visibility::Hidden {
        let _ = writeln!(out, "<input type=\"hidden\" name=\"{name}\" value=\"{}\">", esc(value));
        return;
    }
    let error = state.errors.get(&field.name);
    let position = match field.label_position {
        LabelPosition::Above => "above",
        LabelPosition::Beside => "beside",
        LabelPosition::Hidden => "label-hidden",
    };
    let mut condition = String::new();
    let mut condition_hint = None;
    if let Visibility::OnlyWhen(cond) = &field.visibility {
        let _ =
            write!(condition, " data-when-field=\"{}\" data-when-value=\"{}\"", esc(&cond.field), esc(&cond.equals));
        let other = form.iter().find(|f| f.name == cond.field);
        let other_label = other.map_or(cond.field.as_str(), |f| f.label.as_str());
        let shown_value = other
            .and_then(|f| f.options.iter().find(|o| o.value() == cond.equals))
            .map_or(cond.equals.as_str(), |o| o.label());
        let other_label = in_lang(state.lang, other_label);
        condition_hint = Some(Msg::OnlyWhen.with(state.lang, &[("label", other_label), ("value", shown_value)]));
    }
    let invalid = if error.is_some() { " invalid" } else { "" };
    let _ = writeln!(out, "<div class=\"field {position}{invalid}\" id=\"w-{name}\"{condition}>");
    let required_mark = if field.required { "<span class=\"required\" aria-hidden=\"true\"> *</span>" } else { "" };
    let label_class = if field.label_position == LabelPosition::Hidden { " class=\"visually-hidden\"" } else { "" };
    let label = in_lang(state.lang, &field.label);
    let _ = writeln!(out, "<label for=\"f-{name}\"{label_class}>{}{required_mark}</label>", esc(label));
    out.push_str("<div class=\"control\">\n");

    let mut described = Vec::new();
    if !field.description.is_empty() {
        described.push(format!("d-{name}"));
    }
    if condition_hint.is_some() {
        described.push(format!("c-{name}"));
    }
    if error.is_some() {
        described.push(format!("e-{name}"));
    }
    let mut attrs = format!("id=\"f-{name}\" name=\"{name}\"");
    if field.required {
        attrs.push_str(" required aria-required=\"true\"");
    }
    if error.is_some() {
        attrs.push_str(" aria-invalid=\"true\"");
    }
    if !described.is_empty() {
        let _ = write!(attrs, " aria-describedby=\"{}\"", described.join(" "));
    }
    match field.input {
        InputType::Select => {
            let _ = writeln!(out, "<select {attrs}>");
            if value.is_empty() || !field.required {
                let _ = writeln!(out, "<option value=\"\">{}</option>", Msg::Choose.text(state.lang));
            }
            for option in &field.options {
                let selected = if option.value() == value { " selected" } else { "" };
                let _ = writeln!(
                    out,
                    "<option value=\"{}\"{selected}>{}</option>",
                    esc(option.value()),
                    esc(option.label())
                );
            }
            out.push_str("</select>\n");
        }
        InputType::LongText => {
            let _ = write!(attrs, " rows=\"6\" maxlength=\"{}\"", field.max_len());
            if !field.placeholder.is_empty() {
                let _ = write!(attrs, " placeholder=\"{}\"", esc(&field.placeholder));
            }
            let _ = writeln!(out, "<textarea {attrs}>{}</textarea>", esc(value));
        }
        input => {
            let kind = match input {
                InputType::Email => "email",
                InputType::Phone => "tel",
                InputType::Url => "url",
                _ => "text",
            };
            let _ = write!(attrs, " type=\"{kind}\" maxlength=\"{}\"", field.max_len());
            let autocomplete = match field.target {
                Target::ContactName => Some("name"),
                Target::ContactEmail => Some("email"),
                Target::ContactPhone => Some("tel"),
                _ => None,
            };
            if let Some(a) = autocomplete {
                let _ = write!(attrs, " autocomplete=\"{a}\"");
            }
            if !field.placeholder.is_empty() {
                let _ = write!(attrs, " placeholder=\"{}\"", esc(&field.placeholder));
            }
            let _ = writeln!(out, "<input {attrs} value=\"{}\">", esc(value));
        }
    }
    if !field.description.is_empty() {
        let _ = writeln!(out, "<p class=\"hint\" id=\"d-{name}\">{}</p>", esc(&field.description));
    }
    if let Some(hint) = condition_hint {
        let _ = writeln!(out, "<p class=\"when\" id=\"c-{name}\">{}</p>", esc(&hint));
    }
    if let Some(error) = error {
        let _ = writeln!(out, "<p class=\"error\" id=\"e-{name}\">{}</p>", esc(error));
    }
    out.push_str("</div>\n</div>\n");
}

/// The page after a successful submission.
pub fn thanks_page(settings: &Settings, reference: Option<u64>, lang: Lang) -> String {
    let mut out = String::with_capacity(1024);
    head(&mut out, in_lang(lang, &settings.title), lang);
    out.push_str("<div class=\"thanks\" role=\"status\">\n");
    paragraphs(&mut out, in_lang(lang, &settings.success_message), "success");
    if let Some(id) = reference {
        let _ = writeln!(out, "<p class=\"reference\">{} <strong>#{id}</strong></p>", Msg::Reference.text(lang));
    }
    let _ =
        write!(out, "</div>\n<p><a href=\"./\">{}</a></p>\n</main>\n</body>\n</html>\n", Msg::SendAnother.text(lang));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::{Condition, SelectOption};

    fn page_for(settings: &Settings, values: &Values, errors: &FieldErrors) -> String {
        form_page(settings, &settings.form(), &FormState { values, errors, notice: None, lang: Lang::En })
    }

    #[test]
    fn every_input_has_a_bound_label() {
        let html = page_for(&Settings::default(), &Values::default(), &FieldErrors::default());
        for name in ["name", "email", "subject", "description"] {
            assert!(html.contains(&format!("<label for=\"f-{name}\">")), "label for {name}");
            assert!(html.contains(&format!("id=\"f-{name}\" name=\"{name}\"")), "input {name}");
        }
        assert!(html.contains("type=\"email\""));
        assert!(html.contains("<textarea id=\"f-description\""));
        assert!(html.contains("required aria-required=\"true\""));
        assert!(html.contains("<html lang=\"en\">"));
        assert!(html.contains("<div class=\"hp\" aria-hidden=\"true\">"), "honeypot is hidden from people");
    }

    #[test]
    fn errors_sit_beside_their_field_and_values_are_kept() {
        let values = Values::from_pairs([("name".into(), "Ann".into()), ("email".into(), "ann@".into())]);
        let mut errors = FieldErrors::default();
        errors.add("email", "Enter an e-mail address such as name@example.com".into());
        let html = page_for(&Settings::default(), &values, &errors);
        assert!(html.contains("value=\"Ann\""));
        assert!(html.contains("value=\"ann@\""));
        assert!(html.contains("aria-invalid=\"true\" aria-describedby=\"e-email\""));
        assert!(
            html.contains("<p class=\"error\" id=\"e-email\">Enter an e-mail address such as name@example.com</p>")
        );
        assert!(html.contains("<a href=\"#f-email\">E-mail: Enter an e-mail address"), "summary links to the field");
        assert!(html.contains("<title>Please check the form: Contact support</title>"));
    }

    #[test]
    fn conditional_fields_carry_their_condition_and_a_hint_without_script() {
        let mut topic = Field::new("topic", Target::Custom, InputType::Select, "Topic");
        topic.options = vec![SelectOption::Labelled { value: "billing".into(), label: "Billing".into() }];
        let mut invoice = Field::new("invoice", Target::Custom, InputType::Text, "Invoice");
        invoice.visibility = Visibility::OnlyWhen(Condition { field: "topic".into(), equals: "billing".into() });
        let settings = Settings { fields: vec![topic, invoice], ..Settings::default() };
        let html = page_for(&settings, &Values::default(), &FieldErrors::default());
        assert!(html.contains("id=\"w-invoice\" data-when-field=\"topic\" data-when-value=\"billing\""));
        assert!(html.contains("Only needed when “Topic” is “Billing”."));
        assert!(html.contains("<option value=\"billing\">Billing</option>"));
    }

    #[test]
    fn everything_from_settings_and_clients_is_escaped() {
        let x = "<script>alert(\"x\")</script>";
        let mut field = Field::new("f", Target::Custom, InputType::Select, x);
        field.description = x.into();
        field.options = vec![SelectOption::Labelled { value: x.into(), label: x.into() }];
        let mut text = Field::new("t", Target::Custom, InputType::Text, x);
        text.placeholder = x.into();
        let settings = Settings {
            title: x.into(),
            intro: x.into(),
            submit_label: x.into(),
            success_message: x.into(),
            fields: vec![field, text],
            ..Settings::default()
        };
        let values = Values::from_pairs([("t".into(), x.into())]);
        let mut errors = FieldErrors::default();
        errors.add("t", x.into());
        let form = form_page(
            &settings,
            &settings.form(),
            &FormState { values: &values, errors: &errors, notice: Some(x), lang: Lang::En },
        );
        let thanks = thanks_page(&settings, Some(7), Lang::En);
        for html in [form, thanks] {
            assert!(!html.contains("<script>alert"), "{html}");
            assert!(html.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"));
        }
    }

    #[test]
    fn thanks_page_shows_the_reference() {
        let html = thanks_page(&Settings::default(), Some(42), Lang::En);
        assert!(html.contains("Your reference: <strong>#42</strong>"));
        assert!(html.contains("We have received your request"));
    }
}
