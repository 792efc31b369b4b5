//! Per-event overhead: a fresh instance of hello-channel from its cached
//! `Pre` plus one `handle-http` call that makes no host call (a GET), as
//! every public request pays it. Also `describe` on the same component, the
//! smallest export call, as a floor measured in the same run.
//!
//! Run: `cargo bench -p switchboard-runtime --bench instantiate`; criterion
//! prints the median ("time: [low median high]").

use std::sync::Arc;

use criterion::{Criterion, criterion_main};
use switchboard_core::{Capability, Installation, Limits, Manifest, PluginKind, Timestamp};
use switchboard_runtime::{HttpRequest, Runtime, RuntimeConfig, Secrets};
use switchboard_store::{Stores, TeamStore, TicketStore};
use switchboard_store_sled::{SledConfig, SledStore};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build().expect("tokio");
    let dir = tempfile::tempdir().expect("tempdir");
    let stores = Stores::new(Arc::new(SledStore::open(&dir.path().join("db"), SledConfig::default()).expect("store")));
    let _guard = rt.enter();
    let runtime =
        Runtime::new(RuntimeConfig::new(dir.path().join("cache")), &stores, Arc::new(Timestamp::now)).expect("runtime");
    let guest = switchboard_artifacts::HELLO_CHANNEL;
    let manifest = Manifest {
        id: "hello-channel".into(),
        name: "Hello channel".into(),
        version: "0.1.0".into(),
        kind: PluginKind::Channel,
        vendor: "bench".into(),
        // The examples are built against the newest WIT this host links.
        wit: switchboard_runtime::SUPPORTED_WIT.last().copied().unwrap_or_default().into(),
        capabilities: vec![Capability::Tickets, Capability::Storage],
        settings_schema: String::new(),
    };
    runtime.load(&manifest, &guest.wasm_bytes()).expect("load");
    let installation = Installation {
        team: "bench".into(),
        plugin: "hello-channel".into(),
        settings: "{}".into(),
        secrets: Default::default(),
        grants: manifest.capabilities.clone(),
        declined: Vec::new(),
        limits: Limits::default(),
        public_limits: Default::default(),
        enabled_at: Timestamp::now(),
        updated_at: Timestamp::now(),
    };
    let request = HttpRequest {
        method: "GET".into(),
        path: "/".into(),
        client_addr: "127.0.0.1".into(),
        ..HttpRequest::default()
    };
    println!("pooling allocator: {}", runtime.stats().pooling);

    let mut group = c.benchmark_group("hello-channel");
    group.bench_function("fresh instance + handle-http GET", |b| {
        b.to_async(&rt).iter(|| async {
            let response =
                runtime.handle_http(&installation, &Secrets::default(), request.clone()).await.expect("call");
            assert_eq!(response.status, 200);
        });
    });
    group.bench_function("fresh instance + describe", |b| {
        b.to_async(&rt).iter(|| async {
            runtime.describe("hello-channel").await.expect("describe");
        });
    });
    group.finish();

    // The same ticket creation, durable, directly and through the plugin.
    let store = Arc::new(SledStore::open(&dir.path().join("db2"), SledConfig::default()).expect("store"));
    let team = switchboard_core::Team::new(
        switchboard_core::TeamDraft { name: "Bench".into(), ..Default::default() },
        Timestamp::now(),
    )
    .expect("team");
    rt.block_on(async { store.create_team(team, None).await?.durable().await }).expect("team");
    let stores = Stores::new(Arc::clone(&store));
    let runtime2 =
        Runtime::new(RuntimeConfig::new(dir.path().join("cache")), &stores, Arc::new(Timestamp::now)).expect("runtime");
    runtime2.load(&manifest, &guest.wasm_bytes()).expect("load");
    let installation =
        Installation { team: "bench".into(), settings: r#"{"count_submissions": false}"#.into(), ..installation };
    let post = HttpRequest {
        method: "POST".into(),
        path: "/".into(),
        headers: vec![("content-type".into(), "application/json".into())],
        body: br#"{"title": "A customer cannot log in"}"#.to_vec(),
        client_addr: "127.0.0.1".into(),
        ..HttpRequest::default()
    };
    let mut group = c.benchmark_group("durable ticket");
    group.bench_function("store.create_ticket", |b| {
        b.to_async(&rt).iter(|| async {
            let draft =
                switchboard_core::TicketDraft { title: "A customer cannot log in".into(), ..Default::default() };
            store
                .create_ticket("bench", draft, None, switchboard_core::Author::System, Timestamp::now(), None)
                .await
                .expect("create")
                .durable()
                .await
                .expect("durable");
        });
    });
    group.bench_function("hello-channel POST", |b| {
        b.to_async(&rt).iter(|| async {
            let response = runtime2.handle_http(&installation, &Secrets::default(), post.clone()).await.expect("call");
            assert_eq!(response.status, 201);
        });
    });
    group.finish();
}

// criterion's macro defines an undocumented function.
#[allow(missing_docs)]
mod group {
    criterion::criterion_group!(benches, super::bench);
}
use group::benches;
criterion_main!(benches);
