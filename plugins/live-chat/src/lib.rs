//! The website live chat channel.
//!
//! A team's site embeds one script tag, `/c/<team>/live-chat/widget.js`.
//! The widget asks this plugin which of the channel's rules applies to the
//! page and the visitor's country (`/rule`), then shows the button, the
//! notification, or opens by itself. A conversation runs over the host's
//! websocket (`/c/<team>/live-chat/ws`): the host keeps it and its
//! messages, and asks this plugin at each event what happens. The chatbot
//! script of the rule talks first (questions, e-mail and phone, free
//! input, forwarding to an operator, making a ticket), and operators take
//! over; `/ticket [title]` typed by an operator makes a ticket of the
//! conversation with its transcript.

pub mod bot;
pub mod rules;
pub mod settings;
pub mod texts;
mod web;

use switchboard_sdk::chat::{
    ChatEvent, ChatTicket, Conversation, ConversationState, Expect, NewPost, Poster, Reply, Timer,
};
use switchboard_sdk::host::{conversations, timers};
use switchboard_sdk::http::{Request, Response};
use switchboard_sdk::{Channel, ChatChannel, Info, PluginError};

use crate::rules::{Visit, applicable};
use crate::settings::{ChatChannelSettings, Settings, Step};

/// The timer key of a conversation waiting for an operator.
fn no_answer_key(id: u64) -> String {
    format!("no-answer:{id}")
}

/// Hands a conversation to the operators; if the channel gives up on
/// waiting after a while, sets the timer that does.
fn hand_over(settings: &Settings, c: &Conversation) -> Result<(), PluginError> {
    conversations::hand_over(c.id, None)?;
    let after = channel_of(settings, &c.channel).and_then(|ch| ch.options.no_answer_after);
    if let Some(after) = after {
        timers::schedule(&no_answer_key(c.id), u64::from(after) * 1000, &c.id.to_string())?;
    }
    Ok(())
}

/// Nobody took a waiting conversation in time: the visitor is told, and
/// the conversation becomes a ticket so that the request is answered
/// later. A conversation taken meanwhile is left alone.
fn no_answer(settings: &Settings, timer: &Timer) -> Result<(), PluginError> {
    let Ok(id) = timer.payload.parse::<u64>() else { return Ok(()) };
    let c = conversations::get(id)?;
    if c.state != ConversationState::Waiting {
        return Ok(());
    }
    let channel = channel_of(settings, &c.channel);
    let told = channel.and_then(|ch| ch.options.no_answer_message).filter(|m| !m.trim().is_empty());
    let body = told.unwrap_or_else(|| texts::bot(texts::lang_of(c.origin.language.as_deref())).no_answer.to_owned());
    conversations::post(id, &NewPost { poster: Poster::System, body, expect: Expect::Text })?;
    conversations::to_ticket(id, &ChatTicket { title: String::new(), priority: None })?;
    Ok(())
}

/// The plugin.
pub struct LiveChat;

impl Channel for LiveChat {
    type Settings = Settings;

    fn describe() -> Info {
        Info::new("Live chat", "Chat with visitors of your website, with a chatbot and operators")
    }

    fn validate(settings: &Settings) -> Result<(), PluginError> {
        settings.check()
    }

    fn handle_http(settings: Settings, request: Request) -> Result<Response, PluginError> {
        web::handle(&settings, &request)
    }
}

/// The channel a conversation belongs to, as the settings have it now.
fn channel_of(settings: &Settings, name: &str) -> Option<ChatChannelSettings> {
    settings.channels(conversations::team_name).into_iter().find(|c| c.name == name)
}

/// The path of a page's URL: what rules' patterns are matched against.
pub fn path_of(url: &str) -> &str {
    let rest = match url.split_once("://") {
        Some((_, after)) => after.find('/').map_or("/", |at| &after[at..]),
        None => url,
    };
    let end = rest.find(['?', '#']).unwrap_or(rest.len());
    &rest[..end]
}

/// The steps of a script by name.
fn script<'a>(settings: &'a Settings, name: &str) -> Option<&'a [Step]> {
    settings.scripts.get(name).map(Vec::as_slice)
}

/// A conversation just opened: the rule for its page and country picks
/// the script that greets the visitor.
fn visitor_joined(settings: &Settings, c: &Conversation) -> Result<(), PluginError> {
    let Some(channel) = channel_of(settings, &c.channel) else {
        conversations::post(
            c.id,
            &NewPost { poster: Poster::System, body: "This chat is not available.".into(), expect: Expect::Text },
        )?;
        return conversations::end(c.id);
    };
    let visit =
        Visit { path: path_of(c.origin.page_url.as_deref().unwrap_or("/")), country: c.origin.country.as_deref() };
    let rule =
        applicable(&channel, &visit, || conversations::online_operators(&c.channel).is_ok_and(|o| !o.is_empty()));
    let chosen = rule.script.as_deref().and_then(|name| script(settings, name).map(|steps| (name, steps)));
    bot::start(c, chosen, &|c| hand_over(settings, c))
}

/// An operator's command.
fn command(c: &Conversation, name: &str, args: &str) -> Result<(), PluginError> {
    match name {
        "ticket" => {
            conversations::to_ticket(c.id, &ChatTicket { title: args.into(), priority: None })?;
            Ok(())
        }
        other => Err(PluginError::Permanent(format!("unknown command \"/{other}\"; try /ticket [title]"))),
    }
}

impl ChatChannel for LiveChat {
    fn handle_chat(settings: Settings, c: Conversation, event: ChatEvent) -> Result<(), PluginError> {
        match event {
            ChatEvent::VisitorJoined => visitor_joined(&settings, &c),
            ChatEvent::VisitorMessage(message) if c.state == ConversationState::Bot => {
                let Some(progress) = bot::load(c.id)? else { return Ok(()) };
                match script(&settings, &progress.script) {
                    Some(steps) => bot::answer(&c, steps, &message.body, &|c| hand_over(&settings, c)),
                    // The script was removed meanwhile: operators take over.
                    None => {
                        bot::forget(c.id)?;
                        hand_over(&settings, &c)
                    }
                }
            }
            ChatEvent::OperatorJoined(_) => timers::cancel(&no_answer_key(c.id)).map(drop),
            ChatEvent::Command(cmd) => command(&c, &cmd.name, &cmd.args),
            ChatEvent::Ended => {
                timers::cancel(&no_answer_key(c.id))?;
                bot::forget(c.id)
            }
            _ => Ok(()),
        }
    }

    fn handle_timer(settings: Settings, timer: Timer) -> Result<(), PluginError> {
        if timer.key.starts_with("no-answer:") {
            return no_answer(&settings, &timer);
        }
        Ok(())
    }

    /// An agent's reply on a ticket made of a conversation goes into the
    /// conversation while it is open; once it ended, the visitor cannot be
    /// reached by chat, and the reply is refused so the agent sees it.
    fn deliver_reply(_: Settings, reply: Reply) -> Result<(), PluginError> {
        let id = reply
            .thread_keys
            .iter()
            .find_map(|k| k.strip_prefix("conversation:").and_then(|id| id.parse::<u64>().ok()))
            .ok_or_else(|| PluginError::Permanent("the ticket was not made of a conversation".into()))?;
        let c = conversations::get(id)?;
        if c.state == ConversationState::Ended {
            return Err(PluginError::Permanent(format!("conversation {id} has ended; reach the visitor another way")));
        }
        let body = format!("{}: {}", reply.message.author, reply.message.body);
        conversations::post(id, &NewPost { poster: Poster::System, body, expect: Expect::Text })?;
        Ok(())
    }
}

switchboard_sdk::export_chat_channel!(LiveChat);

#[cfg(test)]
mod bot_tests;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_path_of_a_url_leaves_out_host_query_and_fragment() {
        assert_eq!(path_of("https://shop.example/cart?x=1#top"), "/cart");
        assert_eq!(path_of("https://shop.example"), "/");
        assert_eq!(path_of("/help/faq?q=2"), "/help/faq");
    }
}
