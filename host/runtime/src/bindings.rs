//! Host bindings generated from `wit/` for the worlds. The others reuse the
//! channel world's generated imports, so each host import is implemented
//! once.

/// The `channel` world.
pub(crate) mod channel {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "channel",
        imports: { default: async },
        exports: { default: async },
    });
}

/// The `robot` world.
pub(crate) mod robot {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "robot",
        imports: { default: async },
        exports: { default: async },
        with: {
            "switchboard:plugin/types": super::channel::switchboard::plugin::types,
            "switchboard:plugin/tickets": super::channel::switchboard::plugin::tickets,
            "switchboard:plugin/storage": super::channel::switchboard::plugin::storage,
            "switchboard:plugin/log": super::channel::switchboard::plugin::log,
            "switchboard:plugin/http": super::channel::switchboard::plugin::http,
            "switchboard:plugin/rate-limit": super::channel::switchboard::plugin::rate_limit,
            "switchboard:plugin/secrets": super::channel::switchboard::plugin::secrets,
            "switchboard:plugin/digest": super::channel::switchboard::plugin::digest,
            "switchboard:plugin/conversations": super::channel::switchboard::plugin::conversations,
        },
    });
}

/// The `mail-channel` world: the channel world plus `mail-handler`. Only
/// its `mail-handler` export is used; a channel is linked as a `channel`
/// and the export is looked up when the component has it.
pub(crate) mod mail_channel {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "mail-channel",
        imports: { default: async },
        exports: { default: async },
        with: {
            "switchboard:plugin/types": super::channel::switchboard::plugin::types,
            "switchboard:plugin/tickets": super::channel::switchboard::plugin::tickets,
            "switchboard:plugin/storage": super::channel::switchboard::plugin::storage,
            "switchboard:plugin/log": super::channel::switchboard::plugin::log,
            "switchboard:plugin/http": super::channel::switchboard::plugin::http,
            "switchboard:plugin/rate-limit": super::channel::switchboard::plugin::rate_limit,
            "switchboard:plugin/secrets": super::channel::switchboard::plugin::secrets,
            "switchboard:plugin/digest": super::channel::switchboard::plugin::digest,
            "switchboard:plugin/conversations": super::channel::switchboard::plugin::conversations,
        },
    });
}

/// The `chat-channel` world: the channel world plus the `conversations`
/// and `timers` imports and the `chat-handler` export. As with
/// `mail-channel`, a channel is linked as a `channel`; the chat imports are
/// in every channel's linker, and the export is looked up.
pub(crate) mod chat_channel {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "chat-channel",
        imports: { default: async },
        exports: { default: async },
        with: {
            "switchboard:plugin/types": super::channel::switchboard::plugin::types,
            "switchboard:plugin/tickets": super::channel::switchboard::plugin::tickets,
            "switchboard:plugin/storage": super::channel::switchboard::plugin::storage,
            "switchboard:plugin/log": super::channel::switchboard::plugin::log,
            "switchboard:plugin/http": super::channel::switchboard::plugin::http,
            "switchboard:plugin/rate-limit": super::channel::switchboard::plugin::rate_limit,
            "switchboard:plugin/secrets": super::channel::switchboard::plugin::secrets,
            "switchboard:plugin/digest": super::channel::switchboard::plugin::digest,
            "switchboard:plugin/conversations": super::channel::switchboard::plugin::conversations,
        },
    });
}

/// The `stage-robot` world: the robot world plus `stage-robot-handler`.
/// As with `mail-channel`, a robot is linked as a `robot`, and the export
/// is looked up when the component has it.
pub(crate) mod stage_robot {
    wasmtime::component::bindgen!({
        path: "../../wit",
        world: "stage-robot",
        imports: { default: async },
        exports: { default: async },
        with: {
            "switchboard:plugin/types": super::channel::switchboard::plugin::types,
            "switchboard:plugin/tickets": super::channel::switchboard::plugin::tickets,
            "switchboard:plugin/storage": super::channel::switchboard::plugin::storage,
            "switchboard:plugin/log": super::channel::switchboard::plugin::log,
            "switchboard:plugin/http": super::channel::switchboard::plugin::http,
            "switchboard:plugin/rate-limit": super::channel::switchboard::plugin::rate_limit,
            "switchboard:plugin/secrets": super::channel::switchboard::plugin::secrets,
            "switchboard:plugin/digest": super::channel::switchboard::plugin::digest,
            "switchboard:plugin/mail": super::mail_channel::switchboard::plugin::mail,
        },
    });
}

pub(crate) use channel::switchboard::plugin::types as wit;
