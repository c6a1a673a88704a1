use rust_decimal::Decimal;
use serde_json::json;

use super::*;
use crate::record::{RecordStatus, Severity};

fn day(s: &str) -> NaiveDate {
    s.parse().expect("a test date")
}

fn obj(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        other => panic!("not an object: {other}"),
    }
}

fn penalty_row() -> Value {
    json!({
        "xxbh": "XZCF-00003-0",
        "cf_xdr_mc": "江夏环境科技有限公司",
        "cf_xdr_lb": "法人及非法人组织",
        "cf_xdr_shxym": "91420104657964963L",
        "cf_frdb": "李军",
        "cf_wsh": "武卫罚〔2023〕126号",
        "cf_wfxw": "串通投标",
        "cf_cflb": "没收违法所得、罚款",
        "cf_nr_fk": 2.81,
        "cf_jdrq": "2023-01-10",
        "cf_gsjzq": "2026-01-10",
        "cf_cfjg": "武汉市卫生健康委员会",
        "cf_sjly": "武汉市卫生健康委员会"
    })
}

fn court_row() -> Value {
    json!({
        "xxbh": "ZXGK-00001",
        "iname": "江夏市政工程咨询有限公司",
        "cardNum": "914201066715055524",
        "caseCode": "(2022)鄂01执219号",
        "courtName": "武汉市洪山区人民法院",
        "regDate": "2022-02-27",
        "performance": "部分未履行",
        "disruptTypeName": "有履行能力而拒不履行生效法律文书确定义务",
        "publishDate": "2022-03-29"
    })
}

fn list_row() -> Value {
    json!({
        "xxbh": "LIST-00001-0",
        "统一社会信用代码": "914201066715055524",
        "主体名称": "江夏市政工程咨询有限公司",
        "名单类型": "政府采购严重违法失信行为记录名单",
        "列入日期": "2022-07-19",
        "列入决定文书号": "武汉市财列〔2022〕88号",
        "列入机关": "武汉市财政局",
        "公示截止日期": "2024-07-19"
    })
}

fn grade_row() -> Value {
    json!({
        "xxbh": "GRADE-00004-2023",
        "统一社会信用代码": "91420105419483507B",
        "主体名称": "长江市政工程咨询有限公司",
        "评价行业": "水利",
        "信用等级": "B",
        "评价年度": 2023,
        "发布日期": "2024-04-15",
        "有效期至": "2025-04-14",
        "评价机关": "湖北省水利厅"
    })
}

fn event_row() -> Value {
    json!({
        "xxbh": "XZCF-00010-1",
        "事件": "信用修复",
        "日期": "2024-06-13",
        "机关": "武汉市发展和改革委员会",
        "说明": "已履行法定义务并作出信用承诺"
    })
}

fn with(mut row: Value, key: &str, value: Value) -> Value {
    row[key] = value;
    row
}

fn without(mut row: Value, key: &str) -> Value {
    if let Value::Object(m) = &mut row {
        m.remove(key);
    }
    row
}

fn record(row: Value, feed: FeedKind) -> CreditRecord {
    match map_object(&obj(row), feed) {
        Ok(IntakeItem::Record(r)) => r,
        other => panic!("not a record: {other:?}"),
    }
}

fn errors(row: Value, feed: FeedKind) -> Vec<FieldError> {
    match map_object(&obj(row), feed) {
        Err(errors) => errors,
        Ok(item) => panic!("accepted: {item:?}"),
    }
}

/// The single error of a row.
fn error(row: Value, feed: FeedKind) -> FieldError {
    let mut errors = errors(row, feed);
    assert_eq!(errors.len(), 1, "{errors:#?}");
    errors.remove(0)
}

// --- each feed -----------------------------------------------------------------------------

#[test]
fn penalty_maps_every_field() {
    let r = record(
        with(penalty_row(), "cf_yj", json!("《招标投标法》第五十三条")),
        FeedKind::Penalty,
    );
    assert_eq!(r.id, "XZCF-00003-0");
    assert_eq!(r.uscc.as_str(), "91420104657964963L");
    assert_eq!(r.kind, RecordKind::AdminPenalty);
    assert_eq!(r.entity_name.as_deref(), Some("江夏环境科技有限公司"));
    assert_eq!(r.document_no.as_deref(), Some("武卫罚〔2023〕126号"));
    assert_eq!(r.penalty_type.as_deref(), Some("没收违法所得、罚款"));
    assert_eq!(r.amount, Some(Decimal::new(281, 2)));
    assert_eq!(r.decided_on, day("2023-01-10"));
    assert_eq!(r.disclosure_until, Some(day("2026-01-10")));
    assert_eq!(r.authority.as_deref(), Some("武汉市卫生健康委员会"));
    assert_eq!(r.description.as_deref(), Some("串通投标"));
    assert_eq!(r.legal_basis.as_deref(), Some("《招标投标法》第五十三条"));
    assert_eq!(r.severity, Some(Severity::General));
    assert_eq!(r.sector, None);
    assert_eq!(r.grade, None);
}

#[test]
fn penalty_prefers_facts_over_violation_type_and_allows_null_fine() {
    let row = with(penalty_row(), "cf_sy", json!("在某项目中与他人串通投标"));
    let r = record(with(row, "cf_nr_fk", Value::Null), FeedKind::Penalty);
    assert_eq!(r.description.as_deref(), Some("在某项目中与他人串通投标"));
    assert_eq!(r.amount, None);
    // A blank 违法事实 falls through to 违法行为类型.
    let r = record(with(penalty_row(), "cf_sy", json!("  ")), FeedKind::Penalty);
    assert_eq!(r.description.as_deref(), Some("串通投标"));
    // No 公示截止期: no end (documented).
    let r = record(without(penalty_row(), "cf_gsjzq"), FeedKind::Penalty);
    assert_eq!(r.disclosure_until, None);
}

#[test]
fn penalty_severity_follows_the_table() {
    for (cflb, severity) in [
        ("警告", Some(Severity::Minor)),
        ("通报批评", Some(Severity::Minor)),
        ("罚款", Some(Severity::General)),
        ("没收违法所得、罚款", Some(Severity::General)),
        ("暂扣许可证件", Some(Severity::Serious)),
        ("降低资质等级", Some(Severity::Serious)),
        ("责令停产停业", Some(Severity::Serious)),
        ("吊销营业执照", Some(Severity::Serious)),
        ("限制从业", Some(Severity::Serious)),
        ("警告；罚款", Some(Severity::General)),
        ("罚款, 责令停产停业", Some(Severity::Serious)),
        ("其他", None),
    ] {
        let r = record(
            with(penalty_row(), "cf_cflb", json!(cflb)),
            FeedKind::Penalty,
        );
        assert_eq!(r.severity, severity, "{cflb}");
    }
    let r = record(without(penalty_row(), "cf_cflb"), FeedKind::Penalty);
    assert_eq!(r.severity, None);
}

#[test]
fn amounts_are_exact_decimals() {
    for (fk, want) in [
        (json!(35.8), Decimal::new(358, 1)),
        (json!(0.1), Decimal::new(1, 1)),
        (json!(12), Decimal::new(12, 0)),
        (json!("2.50"), Decimal::new(25, 1)),
        (json!(0), Decimal::ZERO),
        (json!(1e3), Decimal::new(1000, 0)),
    ] {
        let r = record(
            with(penalty_row(), "cf_nr_fk", fk.clone()),
            FeedKind::Penalty,
        );
        assert_eq!(r.amount, Some(want), "{fk}");
    }
}

#[test]
fn court_maps_to_a_serious_open_ended_dishonest_debtor() {
    let r = record(court_row(), FeedKind::Court);
    assert_eq!(r.kind, RecordKind::DishonestDebtor);
    assert_eq!(r.uscc.as_str(), "914201066715055524");
    assert_eq!(r.entity_name.as_deref(), Some("江夏市政工程咨询有限公司"));
    assert_eq!(r.document_no.as_deref(), Some("(2022)鄂01执219号"));
    assert_eq!(r.authority.as_deref(), Some("武汉市洪山区人民法院"));
    assert_eq!(r.decided_on, day("2022-03-29"));
    assert_eq!(r.disclosure_until, None);
    assert_eq!(r.severity, Some(Severity::Serious));
    assert_eq!(
        r.description.as_deref(),
        Some("有履行能力而拒不履行生效法律文书确定义务")
    );
    assert_eq!(r.status_on(day("2099-01-01")), RecordStatus::Active);
}

#[test]
fn court_falls_back_to_the_filing_date() {
    let r = record(court_row(), FeedKind::Court);
    assert_eq!(
        r.published_on,
        Some(r.decided_on),
        "publishDate is the publication day"
    );
    let r = record(without(court_row(), "publishDate"), FeedKind::Court);
    assert_eq!(r.decided_on, day("2022-02-27"));
    assert_eq!(
        r.published_on, None,
        "no publication date: counts from the filing date"
    );
    let r = record(
        with(court_row(), "publishDate", Value::Null),
        FeedKind::Court,
    );
    assert_eq!(r.decided_on, day("2022-02-27"));
    // A bad publishDate is reported, not skipped.
    let e = error(
        with(court_row(), "publishDate", json!("2022-13-01")),
        FeedKind::Court,
    );
    assert_eq!(e.field, "publishDate");
    assert!(e.to_string().contains("no month 13"), "{e}");
    // Neither date: the error names both.
    let row = without(without(court_row(), "publishDate"), "regDate");
    let e = error(row, FeedKind::Court);
    assert_eq!(e.field, "publishDate");
    assert_eq!(e.value, None);
    assert!(e.to_string().contains("`regDate`"), "{e}");
}

#[test]
fn list_kind_comes_from_the_list_type() {
    let r = record(list_row(), FeedKind::List);
    assert_eq!(r.kind, RecordKind::GpSeriousViolation);
    assert_eq!(r.severity, Some(Severity::Serious));
    assert_eq!(r.document_no.as_deref(), Some("武汉市财列〔2022〕88号"));
    assert_eq!(r.decided_on, day("2022-07-19"));
    assert_eq!(r.disclosure_until, Some(day("2024-07-19")));
    assert_eq!(r.authority.as_deref(), Some("武汉市财政局"));
    assert_eq!(r.sector, None);
    for (name, kind, severity, sector) in [
        (
            "建筑市场主体黑名单",
            RecordKind::Blacklist,
            Severity::Serious,
            Some("城乡建设"),
        ),
        (
            "严重失信主体名单",
            RecordKind::Blacklist,
            Severity::Serious,
            None,
        ),
        (
            "拖欠农民工工资失信联合惩戒对象名单",
            RecordKind::WageArrears,
            Severity::Serious,
            None,
        ),
        (
            "重大税收违法失信主体",
            RecordKind::TaxMajorViolation,
            Severity::Serious,
            None,
        ),
        (
            "严重违法失信名单",
            RecordKind::SamrSeriousList,
            Severity::Serious,
            None,
        ),
        (
            "经营异常名录",
            RecordKind::AbnormalOperation,
            Severity::General,
            None,
        ),
        (
            "重点关注名单",
            RecordKind::WatchList,
            Severity::General,
            None,
        ),
    ] {
        let r = record(with(list_row(), "名单类型", json!(name)), FeedKind::List);
        assert_eq!(
            (r.kind, r.severity, r.sector.as_deref()),
            (kind, Some(severity), sector),
            "{name}"
        );
    }
}

#[test]
fn list_without_end_is_listed_until_removed() {
    let r = record(
        with(list_row(), "公示截止日期", Value::Null),
        FeedKind::List,
    );
    assert_eq!(r.disclosure_until, None);
    let r = record(without(list_row(), "公示截止日期"), FeedKind::List);
    assert_eq!(r.disclosure_until, None);
}

#[test]
fn grade_maps_sector_grade_and_year() {
    let r = record(grade_row(), FeedKind::Grade);
    assert_eq!(r.kind, RecordKind::SectorGrade);
    assert_eq!(r.sector.as_deref(), Some("水利"));
    assert_eq!(r.grade.as_deref(), Some("B"));
    assert_eq!(r.decided_on, day("2024-04-15"));
    // 发布日期 is the publication day; 有效期至 is the validity, not a disclosure end.
    assert_eq!(r.published_on, Some(day("2024-04-15")));
    assert_eq!(r.valid_until, Some(day("2025-04-14")));
    assert_eq!(r.disclosure_until, None);
    assert_eq!(r.authority.as_deref(), Some("湖北省水利厅"));
    assert_eq!(r.description.as_deref(), Some("评价年度 2023"));
    assert_eq!(r.severity, None);
    // Lower case grades are normalised; sectors without a scale accept any grade.
    let r = record(with(grade_row(), "信用等级", json!("aa")), FeedKind::Grade);
    assert_eq!(r.grade.as_deref(), Some("AA"));
    let row = with(grade_row(), "评价行业", json!("房屋建筑"));
    let r = record(with(row, "信用等级", json!("BBB")), FeedKind::Grade);
    assert_eq!(r.grade.as_deref(), Some("BBB"));
}

#[test]
fn events_map_to_repair_and_revocation() {
    let item = map_object(&obj(event_row()), FeedKind::Event).expect("an event");
    let IntakeItem::Event(e) = &item else {
        panic!("{item:?}")
    };
    assert_eq!(e.record_id, "XZCF-00010-1");
    assert_eq!(e.kind, EventKind::Repair);
    assert_eq!(e.date, day("2024-06-13"));
    assert_eq!(e.authority.as_deref(), Some("武汉市发展和改革委员会"));
    assert_eq!(e.note.as_deref(), Some("已履行法定义务并作出信用承诺"));
    assert_eq!(item.id(), "XZCF-00010-1");
    let revoke = with(event_row(), "事件", json!("撤销"));
    let Ok(IntakeItem::Event(e)) = map_object(&obj(revoke), FeedKind::Event) else {
        panic!()
    };
    assert_eq!(e.kind, EventKind::Revoke);
}

#[test]
fn unknown_fields_are_ignored_and_text_is_trimmed() {
    let row = with(penalty_row(), "cf_cfjg", json!("  武汉市水务局 "));
    let r = record(with(row, "extra", json!([1, 2])), FeedKind::Penalty);
    assert_eq!(r.authority.as_deref(), Some("武汉市水务局"));
}

#[test]
fn dates_accept_other_formats_and_times() {
    for text in [
        "2023-01-10 00:00:00",
        "2023-01-10T08:30:00Z",
        "2023/1/10",
        "20230110",
        "2023年01月10日",
    ] {
        let r = record(
            with(penalty_row(), "cf_jdrq", json!(text)),
            FeedKind::Penalty,
        );
        assert_eq!(r.decided_on, day("2023-01-10"), "{text}");
    }
}

// --- errors --------------------------------------------------------------------------------

#[test]
fn bad_uscc_carries_the_uscc_error() {
    let e = error(
        with(penalty_row(), "cf_xdr_shxym", json!("914201122362183998")),
        FeedKind::Penalty,
    );
    assert_eq!(e.field, "cf_xdr_shxym");
    assert_eq!(e.value.as_deref(), Some("914201122362183998"));
    assert_eq!(
        e.problem,
        FieldProblem::Uscc(UsccError::CheckChar {
            expected: '7',
            found: '8'
        })
    );
    assert!(e.to_string().contains("position 18"), "{e}");
    let e = error(
        with(list_row(), "统一社会信用代码", json!("914201066715055534")),
        FeedKind::List,
    );
    assert!(
        matches!(
            e.problem,
            FieldProblem::Uscc(UsccError::OrgCodeCheck { .. })
        ),
        "{e}"
    );
    let e = error(
        with(court_row(), "cardNum", json!("9142010O67150555")),
        FeedKind::Court,
    );
    assert!(
        matches!(
            e.problem,
            FieldProblem::Uscc(UsccError::Length { found: 16 })
        ),
        "{e}"
    );
}

#[test]
fn impossible_dates_say_why() {
    for (text, why) in [
        ("2023-02-30", "2023-02 has no day 30 (it has 28 days)"),
        ("2024-02-30", "2024-02 has no day 30 (it has 29 days)"),
        ("2023-04-31", "2023-04 has no day 31 (it has 30 days)"),
        ("2023-13-01", "there is no month 13"),
        ("2023-00-10", "there is no month 0"),
        ("2023-01-00", "2023-01 has no day 0 (it has 31 days)"),
        ("20230230", "2023-02 has no day 30 (it has 28 days)"),
    ] {
        let e = error(
            with(penalty_row(), "cf_jdrq", json!(text)),
            FeedKind::Penalty,
        );
        assert_eq!(e.field, "cf_jdrq");
        assert_eq!(
            e.problem,
            FieldProblem::ImpossibleDate {
                reason: why.to_owned()
            },
            "{text}"
        );
        assert!(e.to_string().contains("does not exist"), "{e}");
    }
}

#[test]
fn text_that_is_no_date_is_not_a_date() {
    for bad in [
        json!("next Monday"),
        json!("2023-1"),
        json!(20230110),
        json!(true),
    ] {
        let e = error(
            with(penalty_row(), "cf_jdrq", bad.clone()),
            FeedKind::Penalty,
        );
        assert_eq!(e.problem, FieldProblem::NotADate, "{bad}");
        assert!(e.to_string().contains("YYYY-MM-DD"), "{e}");
    }
}

#[test]
fn end_before_start_names_both_fields() {
    let e = error(
        with(penalty_row(), "cf_gsjzq", json!("2001-01-01")),
        FeedKind::Penalty,
    );
    assert_eq!(e.field, "cf_gsjzq");
    assert_eq!(e.value.as_deref(), Some("2001-01-01"));
    assert_eq!(
        e.problem,
        FieldProblem::EndBeforeStart {
            start_field: "cf_jdrq",
            start: day("2023-01-10"),
            end: day("2001-01-01"),
        }
    );
    let msg = e.to_string();
    assert!(
        msg.contains("`cf_jdrq`") && msg.contains("2023-01-10"),
        "{msg}"
    );
    let e = error(
        with(grade_row(), "有效期至", json!("2001-01-01")),
        FeedKind::Grade,
    );
    assert_eq!(e.field, "有效期至");
    assert!(e.to_string().contains("`发布日期`"), "{e}");
    assert!(e.to_string().contains("有效期至 (2001-01-01)"), "{e}");
    // The same day is fine.
    let r = record(
        with(list_row(), "公示截止日期", json!("2022-07-19")),
        FeedKind::List,
    );
    assert_eq!(r.disclosure_until, Some(r.decided_on));
}

#[test]
fn missing_required_fields() {
    for (row, feed, field, label) in [
        (
            without(penalty_row(), "cf_wsh"),
            FeedKind::Penalty,
            "cf_wsh",
            "决定文书号",
        ),
        (
            with(penalty_row(), "cf_wsh", Value::Null),
            FeedKind::Penalty,
            "cf_wsh",
            "决定文书号",
        ),
        (
            with(penalty_row(), "cf_wsh", json!(" ")),
            FeedKind::Penalty,
            "cf_wsh",
            "决定文书号",
        ),
        (
            without(grade_row(), "信用等级"),
            FeedKind::Grade,
            "信用等级",
            "信用等级",
        ),
        (
            without(grade_row(), "评价行业"),
            FeedKind::Grade,
            "评价行业",
            "行业",
        ),
        (
            without(list_row(), "列入决定文书号"),
            FeedKind::List,
            "列入决定文书号",
            "决定文书号",
        ),
        (
            without(list_row(), "名单类型"),
            FeedKind::List,
            "名单类型",
            "名单类型",
        ),
        (
            without(court_row(), "caseCode"),
            FeedKind::Court,
            "caseCode",
            "决定文书号",
        ),
        (
            without(penalty_row(), "cf_jdrq"),
            FeedKind::Penalty,
            "cf_jdrq",
            "认定日期",
        ),
        (
            without(event_row(), "日期"),
            FeedKind::Event,
            "日期",
            "事件日期",
        ),
        (
            without(event_row(), "事件"),
            FeedKind::Event,
            "事件",
            "事件类型",
        ),
    ] {
        let e = error(row, feed);
        assert_eq!(e.field, field);
        assert_eq!(e.value, None);
        assert!(
            matches!(&e.problem, FieldProblem::Missing { label: l, .. } if *l == label),
            "{e}"
        );
        assert!(e.to_string().contains("missing"), "{e}");
    }
}

#[test]
fn missing_id_or_uscc_is_reported() {
    let e = error(without(penalty_row(), "xxbh"), FeedKind::Penalty);
    assert_eq!(e.field, "xxbh");
    let e = error(without(penalty_row(), "cf_xdr_shxym"), FeedKind::Penalty);
    assert_eq!(e.field, "cf_xdr_shxym");
}

#[test]
fn unknown_list_type_and_kinds_that_are_not_lists() {
    let e = error(
        with(list_row(), "名单类型", json!("红名单")),
        FeedKind::List,
    );
    assert_eq!(e.field, "名单类型");
    assert_eq!(e.value.as_deref(), Some("红名单"));
    assert!(
        matches!(e.problem, FieldProblem::UnknownListType { .. }),
        "{e}"
    );
    assert!(e.to_string().contains("`建筑市场主体黑名单`"), "{e}");
    let e = error(
        with(list_row(), "名单类型", json!("行政处罚")),
        FeedKind::List,
    );
    assert_eq!(
        e.problem,
        FieldProblem::NotAList {
            kind: RecordKind::AdminPenalty
        }
    );
}

#[test]
fn unknown_event_type() {
    let e = error(with(event_row(), "事件", json!("移出")), FeedKind::Event);
    assert_eq!(e.field, "事件");
    assert_eq!(e.value.as_deref(), Some("移出"));
    assert!(matches!(e.problem, FieldProblem::UnknownEventType { .. }));
    assert!(e.to_string().contains("`信用修复`"), "{e}");
}

#[test]
fn grade_off_its_sector_scale() {
    for (sector, grade) in [("水利", "D"), ("公路", "AAA"), ("纳税", "AA")] {
        let row = with(grade_row(), "评价行业", json!(sector));
        let e = error(with(row, "信用等级", json!(grade)), FeedKind::Grade);
        assert_eq!(e.field, "信用等级");
        assert!(
            matches!(e.problem, FieldProblem::GradeOffScale { .. }),
            "{e}"
        );
        assert!(e.to_string().contains(sector), "{e}");
    }
}

#[test]
fn wrong_value_types() {
    let e = error(
        with(penalty_row(), "cf_wsh", json!(["a"])),
        FeedKind::Penalty,
    );
    assert_eq!(
        e.problem,
        FieldProblem::NotText {
            found: "a JSON array"
        }
    );
    assert_eq!(e.value.as_deref(), Some(r#"["a"]"#));
    let e = error(
        with(penalty_row(), "cf_nr_fk", json!("二万")),
        FeedKind::Penalty,
    );
    assert_eq!(e.problem, FieldProblem::NotAnAmount);
    let e = error(
        with(penalty_row(), "cf_nr_fk", json!(-2)),
        FeedKind::Penalty,
    );
    assert_eq!(e.problem, FieldProblem::NegativeAmount);
    // A numeric id is accepted as text.
    let r = record(with(penalty_row(), "xxbh", json!(12345)), FeedKind::Penalty);
    assert_eq!(r.id, "12345");
}

#[test]
fn every_problem_of_a_row_is_reported_at_once() {
    let row = with(penalty_row(), "cf_xdr_shxym", json!("914201122362183998"));
    let row = with(row, "cf_gsjzq", json!("2001-01-01"));
    let row = with(row, "cf_nr_fk", json!("x"));
    let row = without(row, "cf_wsh");
    let fields: Vec<String> = errors(row, FeedKind::Penalty)
        .into_iter()
        .map(|e| e.field)
        .collect();
    // The disclosure end is checked by `validate` even though the USCC is bad.
    assert_eq!(fields, ["cf_xdr_shxym", "cf_wsh", "cf_nr_fk", "cf_gsjzq"]);
    let row = with(grade_row(), "发布日期", json!("2023-02-30"));
    let row = with(row, "信用等级", json!("Z"));
    let fields: Vec<String> = errors(row, FeedKind::Grade)
        .into_iter()
        .map(|e| e.field)
        .collect();
    assert_eq!(fields, ["发布日期", "信用等级"]);
}

// --- lines ---------------------------------------------------------------------------------

#[test]
fn map_line_detects_the_feed() {
    for (row, feed) in [
        (penalty_row(), FeedKind::Penalty),
        (court_row(), FeedKind::Court),
        (list_row(), FeedKind::List),
        (grade_row(), FeedKind::Grade),
        (event_row(), FeedKind::Event),
    ] {
        assert_eq!(FeedKind::detect(&obj(row.clone())), Some(feed));
        let line = row.to_string();
        assert_eq!(map_line(&line), map_line_as(&line, feed));
        assert!(map_line(&line).is_ok(), "{line}");
    }
    // The penalty feed is still detected without its document number.
    let row = obj(without(penalty_row(), "cf_wsh"));
    assert_eq!(FeedKind::detect(&row), Some(FeedKind::Penalty));
}

#[test]
fn map_line_errors_carry_the_row_id() {
    let line = with(penalty_row(), "cf_jdrq", json!("2023-02-30")).to_string();
    let err = map_line(&line).expect_err("bad date");
    assert_eq!(err.id(), Some("XZCF-00003-0"));
    assert_eq!(err.field_errors().len(), 1);
    let msg = err.to_string();
    assert!(
        msg.starts_with(
            "row `XZCF-00003-0` of the 行政处罚 feed is rejected: `cf_jdrq` = `2023-02-30`"
        ),
        "{msg}"
    );
    let line = without(event_row(), "日期").to_string();
    assert_eq!(
        map_line(&line).expect_err("no date").id(),
        Some("XZCF-00010-1")
    );
}

#[test]
fn bad_lines() {
    let err = map_line(r#"{"xxbh": "#).expect_err("bad json");
    assert!(matches!(err, IntakeError::Json { .. }), "{err}");
    assert_eq!(err.id(), None);
    assert!(err.field_errors().is_empty());
    let err = map_line("[1, 2]").expect_err("an array");
    assert_eq!(
        err,
        IntakeError::NotObject {
            found: "a JSON array"
        }
    );
    let err = map_line(r#"{"xxbh": "Q-1", "colour": "red"}"#).expect_err("no feed");
    assert_eq!(err.id(), Some("Q-1"));
    assert!(err.to_string().contains("`colour`"), "{err}");
    assert!(matches!(err, IntakeError::UnknownFeed { .. }));
}

#[test]
fn detection_needs_a_unique_best_feed() {
    assert_eq!(FeedKind::detect(&obj(json!({"xxbh": "1"}))), None);
    let tie = obj(json!({"事件": "撤销", "名单类型": "黑名单"}));
    assert_eq!(FeedKind::detect(&tie), None);
}

#[test]
fn file_names_name_feeds() {
    for (name, feed) in [
        ("xzcf.jsonl", Some(FeedKind::Penalty)),
        ("/data/provincial-feed/court.jsonl", Some(FeedKind::Court)),
        ("C:\\feed\\lists.jsonl", Some(FeedKind::List)),
        ("grades_2024.json", Some(FeedKind::Grade)),
        ("EVENTS-2024-06.jsonl", Some(FeedKind::Event)),
        ("zxgk.jsonl", Some(FeedKind::Court)),
        ("xzxk.jsonl", None),
        ("", None),
    ] {
        assert_eq!(FeedKind::from_file_name(name), feed, "{name}");
    }
}

#[test]
fn map_lines_skips_blank_lines_and_counts_from_one() {
    let text = format!("{}\n\n  \n{}\n", penalty_row(), r#"{"xxbh": "#);
    let results: Vec<_> = map_lines(&text, None).collect();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0].0, 1);
    assert!(results[0].1.is_ok());
    assert_eq!(results[1].0, 4);
    assert!(results[1].1.is_err());
}

// --- events on records ---------------------------------------------------------------------

#[test]
fn events_apply_to_their_record() {
    let mut r = record(list_row(), FeedKind::List);
    let repair = StatusEvent {
        record_id: r.id.clone(),
        kind: EventKind::Repair,
        date: day("2023-01-05"),
        authority: None,
        note: None,
    };
    assert_eq!(repair.apply_to(&mut r), Ok(()));
    assert_eq!(r.repaired_on, Some(day("2023-01-05")));
    assert_eq!(r.status_on(day("2023-01-05")), RecordStatus::Repaired);
    let revoke = StatusEvent {
        kind: EventKind::Revoke,
        date: day("2023-06-01"),
        ..repair.clone()
    };
    assert_eq!(revoke.apply_to(&mut r), Ok(()));
    assert_eq!(r.status_on(day("2023-06-01")), RecordStatus::Revoked);
    assert_eq!(r.validate(), Ok(()));

    let early = StatusEvent {
        date: day("2022-07-18"),
        ..repair.clone()
    };
    let before = r.clone();
    let err = early.apply_to(&mut r).expect_err("before the decision");
    assert!(matches!(err, EventError::BeforeDecision { .. }));
    assert!(err.to_string().contains("2022-07-19"), "{err}");
    assert_eq!(r, before);
    let other = StatusEvent {
        record_id: "LIST-9".into(),
        ..repair
    };
    assert!(matches!(
        other.apply_to(&mut r),
        Err(EventError::WrongRecord { .. })
    ));
}

#[test]
fn items_serialise() {
    let item = map_line(&event_row().to_string()).expect("an event");
    let json = serde_json::to_string(&item).expect("serialise");
    assert_eq!(
        json,
        r#"{"event":{"record_id":"XZCF-00010-1","kind":"repair","date":"2024-06-13","authority":"武汉市发展和改革委员会","note":"已履行法定义务并作出信用承诺"}}"#
    );
    let back: IntakeItem = serde_json::from_str(&json).expect("deserialise");
    assert_eq!(back, item);
    let item = map_line(&list_row().to_string()).expect("a record");
    let json = serde_json::to_string(&item).expect("serialise");
    assert!(
        json.starts_with(r#"{"record":{"id":"LIST-00001-0""#),
        "{json}"
    );
    assert_eq!(
        serde_json::from_str::<IntakeItem>(&json).expect("deserialise"),
        item
    );
}

// --- the table -----------------------------------------------------------------------------

#[test]
fn list_table_agrees_with_record_kind_names() {
    for entry in HUBEI.list_types {
        if let Some(name) = entry.name {
            assert_eq!(RecordKind::from_name(name), Some(entry.kind), "{name}");
        }
        // Every kind of the table is reachable by its label.
        let found = HUBEI.list_type(entry.kind.label()).map(|e| e.kind);
        assert_eq!(found, Ok(entry.kind));
    }
}

#[test]
fn every_feed_is_mapped_once_with_an_id() {
    for feed in FeedKind::ALL {
        let maps: Vec<_> = HUBEI.feeds.iter().filter(|f| f.feed == feed).collect();
        assert_eq!(maps.len(), 1, "{feed}");
        let ids = maps[0]
            .fields
            .iter()
            .filter(|m| m.target == Target::Id)
            .count();
        assert_eq!(ids, 1, "{feed}");
        assert!(
            maps[0].fields.iter().all(|m| !m.sources.is_empty()),
            "{feed}"
        );
    }
}

#[test]
fn module_doc_names_every_source_field() {
    let doc: String = include_str!("../intake.rs")
        .lines()
        .filter(|l| l.starts_with("//!"))
        .collect();
    for feed in HUBEI.feeds {
        for m in feed.fields {
            for s in m.sources {
                assert!(doc.contains(&format!("`{s}`")), "module doc lacks `{s}`");
            }
        }
    }
    for p in HUBEI.penalty_severity {
        assert!(
            doc.contains(&format!("`{}", p.prefix)),
            "module doc lacks `{}`",
            p.prefix
        );
    }
}

#[test]
fn a_table_without_a_feed_says_so() {
    const ONLY_EVENTS: MappingTable = MappingTable {
        name: "test",
        feeds: &[],
        ..HUBEI
    };
    let errors = ONLY_EVENTS
        .map_object(&obj(penalty_row()), FeedKind::Penalty)
        .expect_err("no feed");
    assert_eq!(
        errors[0].problem,
        FieldProblem::FeedNotMapped {
            feed: FeedKind::Penalty
        }
    );
}
