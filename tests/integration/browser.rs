//! End-to-end tests of the public site in real headless Chromium, driven
//! through WebDriver by the harness in `browser/harness.rs`: the real server
//! on a loopback socket over a temporary store seeded with demo entities.
//! The tests also save the screenshots under `docs/screenshots/`.

mod harness;

use credit_rules::http::{App, AppState};
use credit_rules::registry::Registry;
use credit_rules::store::SledStore;
use fantoccini::Locator;
use harness::{Outcome, Site};
use std::sync::Arc;

/// An application over a fresh temporary store holding `entities` demo
/// entities (seed 2019, as `serve --demo` loads them).
fn demo_state(entities: usize) -> AppState {
    let store = SledStore::open_temporary().expect("temporary store");
    let cfg = credit_rules::demo::DemoConfig {
        seed: 2019,
        entities,
        records_per_entity: (0, 12),
    };
    let records: Vec<_> = credit_rules::demo::entities(cfg)
        .flat_map(|(_, _, records)| records)
        .collect();
    use credit_rules::store::RecordStore;
    store.put_records(&records).expect("demo records stored");
    let registry =
        Registry::from_workspace(&crate::common::shipped()).expect("shipped rule sets compile");
    AppState(Arc::new(App::new(
        registry,
        Arc::new(store),
        crate::http::tokens(),
        None,
    )))
}

#[test]
fn the_harness_drives_chromium_against_the_real_server() {
    let site = Site::start(demo_state(20));
    site.run(async {
        let c = site.client();
        c.goto(&site.url("/healthz")).await?;
        let body = c.find(Locator::Css("body")).await?.text().await?;
        assert!(body.contains("\"status\":\"ok\""), "{body}");
        c.goto(&site.url("/api/v1/openapi.json")).await?;
        let body = c.find(Locator::Css("body")).await?.text().await?;
        assert!(body.contains("/api/v1/disclosure"), "{body}");
        Ok(())
    });
}
