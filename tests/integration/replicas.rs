//! Two `credit-rules serve` replicas on one PostgreSQL database (`--store`), as behind a
//! load balancer: they answer the same; a version published through one is live on the
//! other without a restart (NOTIFY, no polling); two city-office reviewers approving the
//! same draft on both at once make exactly one decision; a record written through one
//! replica is what the other evaluates (its entity cache was emptied); and when one replica
//! is killed with SIGKILL, the other keeps serving everything the killed one acknowledged.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::common::{StoreTarget, code};
use crate::durability::{free_port, spawn_server, wait_healthy};

struct Replica {
    base: String,
    child: std::process::Child,
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start(target: &StoreTarget, name: &str, agent: &ureq::Agent, dir: &std::path::Path) -> Replica {
    let port = free_port();
    let child = spawn_server(target, port, &dir.join(format!("{name}.log")));
    let base = format!("http://127.0.0.1:{port}");
    wait_healthy(agent, &base);
    Replica { base, child }
}

fn token(dir: &std::path::Path, label: &str) -> String {
    let tokens = std::fs::read_to_string(dir.join("dev-tokens.txt")).expect("dev tokens");
    tokens
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("a {label} token"))
        .trim()
        .to_owned()
}

fn send(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let auth = format!("Bearer {token}");
    let response = match (method, body) {
        ("GET", _) => agent.get(url).header("Authorization", &auth).call(),
        (_, Some(body)) => agent
            .post(url)
            .header("Authorization", &auth)
            .send_json(body),
        (_, None) => agent.post(url).header("Authorization", &auth).send_empty(),
    }
    .unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let status = response.status().as_u16();
    let mut response = response;
    let body = response.body_mut().read_json().unwrap_or(Value::Null);
    (status, body)
}

fn evaluate(agent: &ureq::Agent, replica: &Replica, token: &str, uscc: &str) -> Value {
    let body = json!({ "ruleset": "water", "as_of": "2024-06-01", "uscc": uscc });
    let (status, body) = send(
        agent,
        "POST",
        &format!("{}/api/v1/evaluate", replica.base),
        token,
        Some(&body),
    );
    assert_eq!(status, 200, "{body}");
    body
}

fn water_hash(agent: &ureq::Agent, replica: &Replica, token: &str) -> String {
    let (status, body) = send(
        agent,
        "GET",
        &format!("{}/api/v1/rulesets/water", replica.base),
        token,
        None,
    );
    assert_eq!(status, 200, "{body}");
    body["meta"]["hash"].as_str().expect("hash").to_owned()
}

#[test]
fn two_replicas_on_one_database_serve_publish_approve_once_and_survive_a_kill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = StoreTarget::postgres(&dir.path().join("data"));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    let a = start(&target, "a", &agent, dir.path());
    let mut b = Some(start(&target, "b", &agent, dir.path()));
    let replica_b = b.as_ref().expect("b");
    let data = target.data();
    let (evaluator, city, water) = (
        token(data, "evaluator"),
        token(data, "city_office"),
        token(data, "bureau_water"),
    );

    // The same answer from both.
    let (_, page) = send(
        &agent,
        "GET",
        &format!("{}/api/v1/disclosure?as_of=2024-06-01&page_size=1", a.base),
        &evaluator,
        None,
    );
    let uscc = page["items"][0]["uscc"]
        .as_str()
        .expect("a seeded entity")
        .to_owned();
    let on_a = evaluate(&agent, &a, &evaluator, &uscc);
    let on_b = evaluate(&agent, replica_b, &evaluator, &uscc);
    for field in ["decision", "total", "hash"] {
        assert_eq!(on_a[field], on_b[field], "{field}");
    }
    let base = water_hash(&agent, &a, &evaluator);
    assert_eq!(water_hash(&agent, replica_b, &evaluator), base);

    // A draft submitted through A; the city office approves it on A and on B at once.
    let (_, current) = send(
        &agent,
        "GET",
        &format!("{}/api/v1/rulesets/water", a.base),
        &evaluator,
        None,
    );
    let source = current["source"].as_str().expect("source");
    let stricter = source.replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    assert_ne!(stricter, source);
    let draft = json!({ "ruleset": "water", "source": stricter, "base_hash": base,
                        "message": "行政处罚每次扣分由2分调整为3分" });
    let (status, submitted) = send(
        &agent,
        "POST",
        &format!("{}/api/v1/drafts", a.base),
        &water,
        Some(&draft),
    );
    assert_eq!(status, 201, "{submitted}");
    let id = submitted["id"].as_u64().expect("draft id");
    let sent_at = Instant::now();
    let statuses: Vec<(u16, Value)> = std::thread::scope(|scope| {
        let approvals: Vec<_> = [&a.base, &replica_b.base]
            .into_iter()
            .map(|base| {
                let (agent, city) = (&agent, &city);
                scope.spawn(move || {
                    let body = json!({ "comment": "同意" });
                    send(
                        agent,
                        "POST",
                        &format!("{base}/api/v1/drafts/{id}/approve"),
                        city,
                        Some(&body),
                    )
                })
            })
            .collect();
        approvals
            .into_iter()
            .map(|t| t.join().expect("approval"))
            .collect()
    });
    let decided_at = Instant::now();
    println!(
        "replicas: the two approvals were answered in {} ms",
        sent_at.elapsed().as_millis()
    );
    let approved = statuses.iter().filter(|(s, _)| *s == 200).count();
    assert_eq!(approved, 1, "exactly one approval succeeds: {statuses:?}");
    let (_, final_draft) = send(
        &agent,
        "GET",
        &format!("{}/api/v1/drafts/{id}", replica_b.base),
        &city,
        None,
    );
    assert_eq!(final_draft["status"], "active", "{final_draft}");
    let approvals = final_draft["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["action"] == "approved")
        .count();
    assert_eq!(approvals, 1, "one approval in the history: {final_draft}");

    // Live on both replicas, whichever one activated it.
    let mut live = [false, false];
    while live != [true, true] {
        for (n, replica) in [&a, replica_b].into_iter().enumerate() {
            live[n] = water_hash(&agent, replica, &evaluator) != base;
        }
        assert!(
            decided_at.elapsed() < Duration::from_secs(10),
            "the new version is not live on both replicas: {live:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    println!(
        "replicas: the approved version is live on both {} ms after the approval was answered",
        decided_at.elapsed().as_millis()
    );

    // A record written through A changes what B evaluates (B had the entity cached).
    let fresh = code(777_001);
    let before = evaluate(&agent, replica_b, &evaluator, fresh.as_str());
    let rows = json!({ "items": [{
        "xxbh": "XZCF-REPLICA-1", "cf_xdr_mc": "江城复制有限公司", "cf_xdr_lb": "法人及非法人组织",
        "cf_xdr_shxym": fresh.as_str(), "cf_wsh": "武水罚〔2024〕9号", "cf_wfxw": "x",
        "cf_cflb": "罚款", "cf_nr_fk": 2.5, "cf_jdrq": "2024-01-10", "cf_gsjzq": "2027-01-10",
        "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"
    }]});
    let intake = token(data, "intake");
    let (status, stored) = send(
        &agent,
        "POST",
        &format!("{}/api/v1/records", a.base),
        &intake,
        Some(&rows),
    );
    assert_eq!(status, 200, "{stored}");
    let mut after = evaluate(&agent, replica_b, &evaluator, fresh.as_str());
    let changed_at = Instant::now();
    while after["total"] == before["total"] && changed_at.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
        after = evaluate(&agent, replica_b, &evaluator, fresh.as_str());
    }
    assert_ne!(
        after["total"], before["total"],
        "B still evaluates the entity without A's record"
    );

    // Kill B: A keeps serving, with everything B acknowledged.
    let (status, via_b) = send(
        &agent,
        "POST",
        &format!("{}/api/v1/records", replica_b.base),
        &intake,
        Some(&json!({ "items": [{
            "xxbh": "XZCF-REPLICA-2", "cf_xdr_mc": "江城复制有限公司", "cf_xdr_lb": "法人及非法人组织",
            "cf_xdr_shxym": fresh.as_str(), "cf_wsh": "武水罚〔2024〕10号", "cf_wfxw": "x",
            "cf_cflb": "罚款", "cf_nr_fk": 3.5, "cf_jdrq": "2024-02-10", "cf_gsjzq": "2027-02-10",
            "cf_cfjg": "武汉市水务局", "cf_sjly": "武汉市水务局"
        }]})),
    );
    assert_eq!(status, 200, "{via_b}");
    let mut killed = b.take().expect("b");
    killed.child.kill().expect("SIGKILL");
    killed.child.wait().expect("reap");
    let (status, entity) = send(
        &agent,
        "GET",
        &format!("{}/api/v1/entities/{}", a.base, fresh.as_str()),
        &city,
        None,
    );
    assert_eq!(status, 200, "{entity}");
    let text = entity.to_string();
    assert!(
        text.contains("XZCF-REPLICA-1") && text.contains("XZCF-REPLICA-2"),
        "{entity}"
    );
    let on_a_after = evaluate(&agent, &a, &evaluator, fresh.as_str());
    assert_eq!(on_a_after["hash"], after["hash"]);
}
