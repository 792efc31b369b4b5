//! The bindings `wit-bindgen` generates from `wit/` for the plugin's world.
//! Most plugins use the wrappers in [`crate::host`] and the traits instead.

#![allow(missing_docs)]

#[cfg(all(feature = "channel", not(feature = "mail"), not(feature = "chat")))]
wit_bindgen::generate!({
    world: "channel",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "switchboard_sdk::bindings",
    export_macro_name: "export",
    additional_derives: [PartialEq, Eq],
});

#[cfg(feature = "mail")]
wit_bindgen::generate!({
    world: "mail-channel",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "switchboard_sdk::bindings",
    export_macro_name: "export",
    additional_derives: [PartialEq, Eq],
});

#[cfg(feature = "chat")]
wit_bindgen::generate!({
    world: "chat-channel",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "switchboard_sdk::bindings",
    export_macro_name: "export",
    additional_derives: [PartialEq, Eq],
});

#[cfg(all(feature = "robot", not(feature = "stage")))]
wit_bindgen::generate!({
    world: "robot",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "switchboard_sdk::bindings",
    export_macro_name: "export",
    additional_derives: [PartialEq, Eq],
});

#[cfg(feature = "stage")]
wit_bindgen::generate!({
    world: "stage-robot",
    path: "../wit",
    pub_export_macro: true,
    default_bindings_module: "switchboard_sdk::bindings",
    export_macro_name: "export",
    additional_derives: [PartialEq, Eq],
});
