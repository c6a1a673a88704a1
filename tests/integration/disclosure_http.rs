//! The public disclosure routes in-process: `GET /api/v1/disclosure` (filters, keyset
//! paging, deprecated numbered pages, the publication rule), the entity and record pages,
//! and problem+json naming the parameter for every malformed query.

use crate::http::{call, seed_bidder};
use crate::review::state_with_clock;
use axum::http::StatusCode;
use credit_rules::record::{CreditRecord, RecordKind, Uscc};

const BIDDER: &str = "914201158544006819";

fn ids(body: &serde_json::Value) -> Vec<String> {
    body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[tokio::test]
async fn the_list_is_public_and_a_repaired_record_is_never_shown() {
    // The clock says 2024-06-01 in Shanghai.
    let (s, _clock) = state_with_clock();
    seed_bidder(&s).await;
    let today = call(&s, "GET", "/api/v1/disclosure", None, None).await;
    assert_eq!(today.status, StatusCode::OK, "{}", today.body);
    assert_eq!(today.body["as_of"], "2024-06-01");
    // The penalty still disclosed; not the grade, not the penalty whose disclosure ended,
    // and not the court record repaired on 2024-07-10 (a repair ends publication for
    // every day, even one before it).
    assert_eq!(ids(&today.body), ["XZCF-00118-0"]);
    assert_eq!(today.body["next_cursor"], serde_json::Value::Null);
    assert_eq!(today.body["items"][0]["name"], "青山水利科技有限公司");
    assert_eq!(today.body["items"][0]["kind_label"], "行政处罚");
    for as_of in ["2024-04-10", "2024-07-10", "2024-12-01"] {
        let r = call(
            &s,
            "GET",
            &format!("/api/v1/disclosure?as_of={as_of}&kind=DISHONEST_DEBTOR"),
            None,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(ids(&r.body).is_empty(), "as of {as_of}: {}", r.body);
    }
    let searched = call(
        &s,
        "GET",
        "/api/v1/disclosure?q=%E9%9D%92%E5%B1%B1&authority=%E6%B0%B4%E5%8A%A1",
        None,
        None,
    )
    .await;
    assert_eq!(ids(&searched.body), ["XZCF-00118-0"]);
    let by_code = call(&s, "GET", "/api/v1/disclosure?q=91420115854", None, None).await;
    assert_eq!(ids(&by_code.body), ["XZCF-00118-0"]);
    let none = call(
        &s,
        "GET",
        "/api/v1/disclosure?decided_to=2023-01-01",
        None,
        None,
    )
    .await;
    assert!(ids(&none.body).is_empty());
}

#[tokio::test]
async fn cursor_paging_with_repeated_and_comma_separated_kinds() {
    let (s, _clock) = state_with_clock();
    let uscc = Uscc::parse(BIDDER).expect("valid");
    let records: Vec<CreditRecord> = (0..5)
        .flat_map(|n| {
            let day = chrono::NaiveDate::from_ymd_opt(2024, 1, 1 + n).expect("date");
            [
                CreditRecord::new(format!("P{n}"), uscc.clone(), RecordKind::AdminPenalty, day),
                CreditRecord::new(format!("W{n}"), uscc.clone(), RecordKind::WageArrears, day),
                CreditRecord::new(format!("B{n}"), uscc.clone(), RecordKind::BadBehaviour, day),
            ]
        })
        .collect();
    s.store.put_records(&records).expect("stored");
    let mut seen = Vec::new();
    let mut uri = "/api/v1/disclosure?kind=ADMIN_PENALTY&kind=%E6%8B%96%E6%AC%A0%E5%86%9C%E6%B0%91%E5%B7%A5%E5%B7%A5%E8%B5%84%E5%A4%B1%E4%BF%A1&limit=3".to_owned();
    loop {
        let r = call(&s, "GET", &uri, None, None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        seen.extend(ids(&r.body));
        match r.body["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!(
                    "/api/v1/disclosure?kind=ADMIN_PENALTY,WAGE_ARREARS&limit=3&cursor={cursor}"
                )
            }
            None => break,
        }
    }
    assert_eq!(
        seen,
        ["P4", "W4", "P3", "W3", "P2", "W2", "P1", "W1", "P0", "W0"]
    );
    // Deprecated numbered pages still work (no total any more).
    let page2 = call(
        &s,
        "GET",
        "/api/v1/disclosure?page=2&page_size=4",
        None,
        None,
    )
    .await;
    assert_eq!(page2.status, StatusCode::OK, "{}", page2.body);
    assert_eq!(ids(&page2.body), ["P3", "W3", "B2", "P2"]);
    assert_eq!(page2.body["page"], 2);
    assert!(page2.body.get("total").is_none());
    let past = call(
        &s,
        "GET",
        "/api/v1/disclosure?page=9&page_size=4",
        None,
        None,
    )
    .await;
    assert!(ids(&past.body).is_empty());
}

#[tokio::test]
async fn the_entity_and_record_pages_are_public() {
    let (s, _clock) = state_with_clock();
    seed_bidder(&s).await;
    let entity = call(
        &s,
        "GET",
        &format!("/api/v1/disclosure/entities/{BIDDER}"),
        None,
        None,
    )
    .await;
    assert_eq!(entity.status, StatusCode::OK, "{}", entity.body);
    assert_eq!(entity.body["name"], "青山水利科技有限公司");
    let entries: Vec<&str> = entity.body["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["id"].as_str().expect("id"))
        .collect();
    assert_eq!(entries, ["XZCF-00118-0"]);
    let record = call(
        &s,
        "GET",
        &format!("/api/v1/disclosure/entities/{BIDDER}/records/XZCF-00118-0"),
        None,
        None,
    )
    .await;
    assert_eq!(record.status, StatusCode::OK, "{}", record.body);
    assert_eq!(record.body["document_no"], "武水罚〔2023〕41号");
    assert_eq!(record.body["disclosure_until"], "2026-09-12");
    assert!(record.body.get("legal_basis").is_some());
    let repaired = call(
        &s,
        "GET",
        &format!("/api/v1/disclosure/entities/{BIDDER}/records/ZXGK-00008?as_of=2024-05-01"),
        None,
        None,
    )
    .await;
    assert_eq!(repaired.status, StatusCode::NOT_FOUND);
    assert_eq!(repaired.content_type, "application/problem+json");
    let unknown = call(
        &s,
        "GET",
        "/api/v1/disclosure/entities/91420100MA4K3Q7T13",
        None,
        None,
    )
    .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let bad = call(&s, "GET", "/api/v1/disclosure/entities/12345", None, None).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    let bad_day = call(
        &s,
        "GET",
        &format!("/api/v1/disclosure/entities/{BIDDER}?as_of=2024-13-01"),
        None,
        None,
    )
    .await;
    assert_eq!(bad_day.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_day.body["errors"][0]["at"], "as_of");
}

#[tokio::test]
async fn every_malformed_query_is_a_problem_naming_the_parameter() {
    let (s, _clock) = state_with_clock();
    let cases = [
        ("page=x", "page"),
        ("page=0", "page"),
        ("page=500&page_size=1000", "page"),
        ("page_size=5000", "page_size"),
        ("as_of=2023-02-30", "as_of"),
        ("as_of=yesterday", "as_of"),
        ("decided_from=2024-1-1x", "decided_from"),
        (
            "decided_from=2024-02-01&decided_to=2024-01-01",
            "decided_from",
        ),
        ("cursor=zz", "cursor"),
        ("cursor=00ff", "cursor"),
        ("kind=NOPE", "kind"),
        ("kind=COMMENDATION", "kind"),
        ("limit=0", "limit"),
        ("limit=1001", "limit"),
        ("limit=-1", "limit"),
        ("q=a&q=b", "q"),
        ("page=2&limit=10", "page"),
        ("pagesize=10", "pagesize"),
        // An empty date is no date; an empty free text is "not given".
        ("decided_to=", "decided_to"),
        ("as_of=&q=", "as_of"),
    ];
    for (query, parameter) in cases {
        let r = call(
            &s,
            "GET",
            &format!("/api/v1/disclosure?{query}"),
            None,
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{query}: {}", r.body);
        assert_eq!(r.content_type, "application/problem+json", "{query}");
        assert_eq!(r.body["code"], "bad_query", "{query}");
        assert_eq!(r.body["errors"][0]["at"], parameter, "{query}: {}", r.body);
        let detail = r.body["detail"].as_str().expect("detail");
        assert!(
            detail.contains(&format!("`{parameter}`"))
                && detail.contains("q, kind, authority, decided_from, decided_to, as_of, limit"),
            "{query}: {detail}"
        );
    }
    let cursor = call(&s, "GET", "/api/v1/disclosure?cursor=zz", None, None).await;
    assert!(
        cursor.body["detail"]
            .as_str()
            .expect("detail")
            .contains("next_cursor")
    );
    // Empty free-text fields (and an empty kind list) count as absent; an empty date or
    // cursor is refused above.
    let form = call(
        &s,
        "GET",
        "/api/v1/disclosure?q=&kind=&authority=",
        None,
        None,
    )
    .await;
    assert_eq!(form.status, StatusCode::OK, "{}", form.body);
}
