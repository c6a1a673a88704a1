//! The staff console in-process: signing in with a role token for a session cookie (its
//! flags, expiry, logout revoking it), CSRF refusals of forms and script calls, the
//! authoring page's contract with the rule editor, submitting a draft from the form, the
//! tender form and its ranking (the API's tender path), the intake status's rejected rows,
//! the decision log's pages, and every console route for every role (authorised by the
//! API's own code).

use crate::http::{CITY, EVALUATOR, INTAKE, TRANSPORT, WATER, tokens};
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use credit_rules::http::{App, AppState, router};
use credit_rules::registry::Registry;
use credit_rules::review::ManualClock;
use credit_rules::store::{SledStore, Versions};
use std::sync::Arc;
use tower::ServiceExt;

/// A console answer: status, headers and the body as text.
pub(crate) struct Page {
    pub(crate) status: StatusCode,
    pub(crate) headers: axum::http::HeaderMap,
    pub(crate) body: String,
}

impl Page {
    pub(crate) fn location(&self) -> &str {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }
}

/// A signed-in browser: its session cookie and the CSRF token its pages carry.
#[derive(Clone)]
pub(crate) struct Browser {
    pub(crate) cookie: String,
    pub(crate) csrf: String,
}

/// The shipped rule sets, a temporary store, the test tokens and a clock at
/// 2024-06-01 10:00 Shanghai.
pub(crate) fn console_state() -> (AppState, Arc<ManualClock>) {
    let registry = Registry::from_workspace(&crate::common::shipped()).expect("rulesets compile");
    let store = SledStore::open_temporary().expect("temporary store");
    for (id, source) in registry.sources() {
        store
            .put_ruleset_version(&credit_rules::store::NewRuleSetVersion {
                ruleset_id: &id,
                source: &source.text,
                author: "seed",
                message: "shipped rule set",
                time: chrono::DateTime::parse_from_rfc3339("2024-03-01T02:00:00Z")
                    .expect("time")
                    .to_utc(),
            })
            .expect("seeded like serve");
    }
    let clock = Arc::new(ManualClock::new(
        chrono::DateTime::parse_from_rfc3339("2024-06-01T02:00:00Z")
            .expect("time")
            .to_utc(),
    ));
    let app = App::new(registry, Arc::new(store), tokens(), None).with_clock(clock.clone());
    (AppState(Arc::new(app)), clock)
}

fn encode(fields: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish()
}

/// Sends a request with the browser's cookie (if any); `form` makes it a form POST.
pub(crate) async fn send(
    state: &AppState,
    method: &str,
    uri: &str,
    browser: Option<&Browser>,
    form: Option<&[(&str, &str)]>,
) -> Page {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(b) = browser {
        request = request.header(header::COOKIE, format!("cr_session={}", b.cookie));
    }
    let request = match form {
        Some(fields) => request
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(encode(fields))),
        None => request.body(Body::empty()),
    }
    .expect("request");
    fetch(state, request).await
}

pub(crate) async fn fetch(state: &AppState, request: Request<Body>) -> Page {
    let response = router(state.clone())
        .oneshot(request)
        .await
        .expect("answers");
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("body");
    Page {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// The value of `<meta name="csrf-token" content="…">`.
fn csrf_of(html: &str) -> String {
    let start = html
        .find("<meta name=\"csrf-token\" content=\"")
        .expect("a signed-in page carries the CSRF token")
        + "<meta name=\"csrf-token\" content=\"".len();
    html[start..]
        .split('"')
        .next()
        .expect("closing quote")
        .to_owned()
}

/// Signs in with `token` and returns the browser.
pub(crate) async fn sign_in(state: &AppState, token: &str) -> Browser {
    let page = send(
        state,
        "POST",
        "/console/signin",
        None,
        Some(&[("token", token)]),
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/console");
    let set = page
        .headers
        .get(header::SET_COOKIE)
        .and_then(|v| v.to_str().ok())
        .expect("a session cookie");
    let cookie = set
        .strip_prefix("cr_session=")
        .and_then(|rest| rest.split(';').next())
        .expect("cookie value")
        .to_owned();
    let mut browser = Browser {
        cookie,
        csrf: String::new(),
    };
    let home = send(state, "GET", "/console", Some(&browser), None).await;
    assert_eq!(home.status, StatusCode::OK, "{}", home.body);
    browser.csrf = csrf_of(&home.body);
    browser
}

#[tokio::test]
async fn signing_in_sets_a_strict_http_only_cookie_without_the_token() {
    let (s, _) = console_state();
    let page = send(
        &s,
        "POST",
        "/console/signin",
        None,
        Some(&[("token", WATER)]),
    )
    .await;
    let set = page.headers[header::SET_COOKIE].to_str().expect("ascii");
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Strict"),
        "{set}"
    );
    assert!(
        set.contains("Max-Age=28800") && set.contains("Path=/"),
        "{set}"
    );
    assert!(!set.contains("Secure"), "plain HTTP: {set}");
    assert!(!set.contains(WATER) && !page.location().contains(WATER));

    let behind_tls = Request::builder()
        .method("POST")
        .uri("/console/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(Body::from(encode(&[("token", WATER)])))
        .expect("request");
    let page = fetch(&s, behind_tls).await;
    assert!(
        page.headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .ends_with("; Secure")
    );

    let browser = sign_in(&s, WATER).await;
    let home = send(&s, "GET", "/console", Some(&browser), None).await;
    assert!(home.body.contains("市水务局") && home.body.contains("行业主管部门（水务）"));
    assert!(home.body.contains("编写规则"), "{}", home.body);
    assert!(
        !home.body.contains("/console/ops"),
        "a bureau has no operations page"
    );
}

#[tokio::test]
async fn a_wrong_token_is_refused_with_a_chinese_page_and_no_cookie() {
    let (s, _) = console_state();
    let page = send(
        &s,
        "POST",
        "/console/signin",
        None,
        Some(&[("token", "guess")]),
    )
    .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert!(page.headers.get(header::SET_COOKIE).is_none());
    assert!(page.body.contains("访问令牌无效"), "{}", page.body);
    let cross = Request::builder()
        .method("POST")
        .uri("/console/signin")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("sec-fetch-site", "cross-site")
        .body(Body::from(encode(&[("token", WATER)])))
        .expect("request");
    let page = fetch(&s, cross).await;
    assert_eq!(
        page.status,
        StatusCode::FORBIDDEN,
        "no sign-in from another site"
    );
    assert!(page.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn pages_without_a_session_lead_to_the_sign_in_form() {
    let (s, _) = console_state();
    let page = send(&s, "GET", "/console", None, None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/console/signin");
    let forged = Browser {
        cookie: format!(
            "{}.{}.9999999999.{}",
            "a".repeat(32),
            "b".repeat(64),
            "c".repeat(64)
        ),
        csrf: String::new(),
    };
    let page = send(&s, "GET", "/console", Some(&forged), None).await;
    assert_eq!(page.location(), "/console/signin?notice=expired");
    let form = send(&s, "GET", "/console/signin?notice=expired", None, None).await;
    assert!(form.body.contains("登录已过期"), "{}", form.body);
    assert!(form.body.contains("type=\"password\""));
}

#[tokio::test]
async fn a_session_ends_when_it_expires_and_when_its_holder_logs_out() {
    let (s, clock) = console_state();
    let browser = sign_in(&s, CITY).await;
    clock.set(clock_plus(&clock, 8 * 3600 - 60));
    assert_eq!(
        send(&s, "GET", "/console", Some(&browser), None)
            .await
            .status,
        StatusCode::OK
    );
    clock.set(clock_plus(&clock, 120));
    let page = send(&s, "GET", "/console", Some(&browser), None).await;
    assert_eq!(
        page.location(),
        "/console/signin?notice=expired",
        "expired after 8 hours"
    );

    let browser = sign_in(&s, CITY).await;
    let other = sign_in(&s, CITY).await;
    let without_csrf = send(&s, "POST", "/console/logout", Some(&browser), Some(&[])).await;
    assert_eq!(
        without_csrf.status,
        StatusCode::FORBIDDEN,
        "logout needs the CSRF token too"
    );
    let out = send(
        &s,
        "POST",
        "/console/logout",
        Some(&browser),
        Some(&[("_csrf", &browser.csrf)]),
    )
    .await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), "/console/signin?notice=logout");
    assert!(
        out.headers[header::SET_COOKIE]
            .to_str()
            .expect("ascii")
            .contains("Max-Age=0")
    );
    let replayed = send(&s, "GET", "/console", Some(&browser), None).await;
    assert_eq!(
        replayed.status,
        StatusCode::SEE_OTHER,
        "the old cookie is revoked"
    );
    let api = crate::http::raw(
        &s,
        Request::builder()
            .uri("/api/v1/drafts")
            .header(header::COOKIE, format!("cr_session={}", browser.cookie))
            .body(Body::empty())
            .expect("request"),
    )
    .await;
    assert_eq!(
        api.status,
        StatusCode::UNAUTHORIZED,
        "nor does the API accept it"
    );
    let still = send(&s, "GET", "/console", Some(&other), None).await;
    assert_eq!(
        still.status,
        StatusCode::OK,
        "another session of the same token goes on"
    );
}

fn clock_plus(clock: &ManualClock, seconds: i64) -> chrono::DateTime<chrono::Utc> {
    use credit_rules::review::Clock;
    clock.now() + chrono::Duration::seconds(seconds)
}

async fn water_source(s: &AppState) -> String {
    s.registry.source("water").expect("water").text.to_string()
}

#[tokio::test]
async fn the_authoring_page_is_a_plain_form_for_the_rule_editor() {
    let (s, _) = console_state();
    let browser = sign_in(&s, WATER).await;
    let page = send(
        &s,
        "GET",
        "/console/rulesets/water/draft",
        Some(&browser),
        None,
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let base = s.registry.head_hash("water").expect("active");
    let body = &page.body;
    assert!(body.contains(&format!(
        "<textarea id=\"source\" name=\"source\" data-editor data-ruleset=\"water\" data-base=\"{base}\""
    )), "{body}");
    assert!(body.contains(&format!(
        "<meta name=\"csrf-token\" content=\"{}\">",
        browser.csrf
    )));
    assert!(body.contains(&format!("name=\"_csrf\" value=\"{}\"", browser.csrf)));
    assert!(body.contains(&format!(
        "<link rel=\"stylesheet\" href=\"{}\">",
        credit_rules::console::editor::editor_stylesheet_href()
    )));
    assert!(body.contains(&format!(
        "<script src=\"{}\" defer></script>",
        credit_rules::console::editor::editor_script_href()
    )));
    assert!(body.contains("name=\"message\"") && body.contains("name=\"activate_on\""));
    assert!(
        body.contains("水务工程建设项目"),
        "starts from the active text"
    );
    let csp = page.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("script-src 'self'") && csp.contains("connect-src 'self'"),
        "{csp}"
    );
    assert!(!csp.contains("unsafe-inline"));

    let scratch = send(
        &s,
        "GET",
        "/console/rulesets/water/draft?from=scratch",
        Some(&browser),
        None,
    )
    .await;
    assert!(
        scratch.body.contains("sector    &#34;水务&#34;")
            || scratch.body.contains("sector    \"水务\""),
        "{}",
        scratch.body
    );

    let public = send(&s, "GET", "/", None, None).await;
    let csp = public.headers["content-security-policy"]
        .to_str()
        .expect("ascii");
    assert!(
        csp.contains("script-src 'none'"),
        "the public site still forbids scripts"
    );
}

#[tokio::test]
async fn a_draft_is_submitted_from_the_form_and_errors_keep_the_text() {
    let (s, _) = console_state();
    let browser = sign_in(&s, WATER).await;
    let base = s.registry.head_hash("water").expect("active");
    let source = water_source(&s).await;
    let broken = source.replacen("kind = 行政处罚", "kind = 行政处法", 1);
    assert_ne!(broken, source, "the water rules name 行政处罚");
    let fields = |text: &str| {
        vec![
            ("_csrf", browser.csrf.clone()),
            ("source", text.to_owned()),
            ("base", base.clone()),
            ("message", "处罚扣分调整".to_owned()),
            ("activate_on", String::new()),
        ]
    };
    let send_form = |text: String| {
        let s = s.clone();
        let browser = browser.clone();
        let fields = fields(&text);
        async move {
            let borrowed: Vec<(&str, &str)> =
                fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(
                &s,
                "POST",
                "/console/rulesets/water/draft",
                Some(&browser),
                Some(&borrowed),
            )
            .await
        }
    };
    let refused = send_form(broken.clone()).await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert!(refused.body.contains("规则文本有错误"), "{}", refused.body);
    assert!(refused.body.contains("行"), "the message names the line");
    assert!(refused.body.contains("行政处法"), "the typed text is kept");

    let stricter = source.replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    assert_ne!(stricter, source);
    let saved = send_form(stricter).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.body);
    assert_eq!(saved.location(), "/console/drafts/1");
    let draft = crate::http::call(&s, "GET", "/api/v1/drafts/1", Some(CITY), None).await;
    assert_eq!(draft.body["author"]["name"], "市水务局");
    assert_eq!(draft.body["message"], "处罚扣分调整");
    assert_eq!(draft.body["status"], "pending");
}

#[tokio::test]
async fn state_changes_without_the_csrf_token_are_refused_and_change_nothing() {
    let (s, _) = console_state();
    let browser = sign_in(&s, WATER).await;
    let source = water_source(&s)
        .await
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    for csrf in [None, Some("0".repeat(64))] {
        let mut fields = vec![("source", source.as_str()), ("message", "m")];
        if let Some(token) = &csrf {
            fields.push(("_csrf", token.as_str()));
        }
        let page = send(
            &s,
            "POST",
            "/console/rulesets/water/draft",
            Some(&browser),
            Some(&fields),
        )
        .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{}", page.body);
        assert!(page.body.contains("CSRF"), "{}", page.body);
    }
    let json =
        serde_json::json!({ "ruleset": "water", "source": source, "message": "m" }).to_string();
    let script_call = |token: Option<&str>| {
        let mut request = Request::builder()
            .method("POST")
            .uri("/api/v1/drafts")
            .header(header::COOKIE, format!("cr_session={}", browser.cookie))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(token) = token {
            request = request.header("x-csrf-token", token);
        }
        request.body(Body::from(json.clone())).expect("request")
    };
    let refused = crate::http::raw(&s, script_call(None)).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.body["code"], "csrf");
    let listed = crate::http::call(&s, "GET", "/api/v1/drafts", Some(CITY), None).await;
    assert_eq!(
        listed.body["items"].as_array().expect("items").len(),
        0,
        "nothing was saved"
    );
    let accepted = crate::http::raw(&s, script_call(Some(&browser.csrf))).await;
    assert_eq!(accepted.status, StatusCode::CREATED, "{}", accepted.body);
    assert_eq!(
        accepted.body["author"]["name"], "市水务局",
        "the session's caller"
    );
    let other = sign_in(&s, WATER).await;
    let crossed = crate::http::raw(&s, script_call(Some(&other.csrf))).await;
    assert_eq!(
        crossed.status,
        StatusCode::FORBIDDEN,
        "a token of another session"
    );
}

/// What a role gets from a console page: the page, a refusal page, or sign-in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Gets {
    Page,
    Refused,
    Hidden,
}

#[tokio::test]
async fn every_console_route_for_every_role_follows_the_api_authorisation() {
    use Gets::{Hidden as H, Page as P, Refused as R};
    let (s, _) = console_state();
    let source = water_source(&s)
        .await
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    let body = serde_json::json!({ "ruleset": "water", "source": source, "message": "m" });
    let submitted = crate::http::call(&s, "POST", "/api/v1/drafts", Some(WATER), Some(body)).await;
    assert_eq!(submitted.status, StatusCode::CREATED);
    let roles = [CITY, WATER, TRANSPORT, EVALUATOR, INTAKE];
    // (method, uri, what each of roles gets)
    let table: &[(&str, &str, [Gets; 5])] = &[
        ("GET", "/console", [P, P, P, P, P]),
        ("GET", "/console/rulesets/water/draft", [P, P, R, R, R]),
        ("POST", "/console/rulesets/water/draft", [P, P, R, R, R]),
        ("GET", "/console/rulesets", [P, P, P, P, R]),
        ("GET", "/console/rulesets/water", [P, P, P, P, R]),
        (
            "GET",
            "/console/rulesets/water/diff?from=@active",
            [P, P, P, P, R],
        ),
        ("GET", "/console/drafts", [P, P, P, R, R]),
        ("GET", "/console/evaluate", [P, P, P, P, R]),
        ("POST", "/console/evaluate", [P, P, P, P, R]),
        ("GET", "/console/evaluate/tender", [P, P, P, P, R]),
        ("POST", "/console/evaluate/tender", [P, P, P, P, R]),
        ("GET", "/console/ops", [P, R, R, R, R]),
        ("GET", "/console/ops/decisions", [P, R, R, R, R]),
        ("GET", "/console/ops/tokens", [P, R, R, R, R]),
        ("POST", "/console/ops/tokens", [P, R, R, R, R]),
        ("GET", "/console/drafts/1", [P, P, H, R, R]),
        ("POST", "/console/drafts/1/decide", [P, R, R, R, R]),
    ];
    let mut covered: Vec<(&str, &str)> = vec![
        ("get", "/console/signin"),
        ("post", "/console/signin"),
        ("post", "/console/logout"),
        ("get", "/assets/console.css"),
    ];
    for (method, uri, expected) in table {
        for (token, want) in roles.iter().zip(expected) {
            let browser = sign_in(&s, token).await;
            let fields = [
                ("_csrf", browser.csrf.as_str()),
                ("source", source.as_str()),
                ("message", "x"),
                ("decision", "reject"),
                ("comment", "理由"),
                ("action", "list"),
                ("ruleset", "water"),
                ("as_of", "2024-08-01"),
                ("uscc", crate::http::BIDDER),
            ];
            let form = (*method == "POST").then_some(&fields[..]);
            let page = send(&s, method, uri, Some(&browser), form).await;
            let got = match page.status {
                StatusCode::FORBIDDEN => R,
                StatusCode::NOT_FOUND => H,
                // Authorised; a state conflict (no token file here) is past the checks.
                StatusCode::OK
                | StatusCode::UNPROCESSABLE_ENTITY
                | StatusCode::SEE_OTHER
                | StatusCode::CONFLICT => P,
                other => panic!("{method} {uri} as {token}: {other}\n{}", page.body),
            };
            assert_eq!(got, *want, "{method} {uri} as {token}: {}", page.body);
            if got == R {
                assert!(page.body.contains("无权"), "{}", page.body);
            }
            let anonymous = send(&s, method, uri, None, form).await;
            assert!(
                matches!(
                    anonymous.status,
                    StatusCode::SEE_OTHER | StatusCode::UNAUTHORIZED
                ),
                "{method} {uri} without a session: {}",
                anonymous.status
            );
        }
        let pattern = pattern_of(uri);
        covered.push((
            if *method == "GET" { "get" } else { "post" },
            console_route(&pattern),
        ));
    }
    let mut listed: Vec<(&str, &str)> = credit_rules::http::CONSOLE_ROUTES.to_vec();
    listed.sort();
    covered.sort();
    assert_eq!(covered, listed, "the table covers every console route");
}

/// `/console/rulesets/water/diff?from=x` → `/console/rulesets/{id}/diff`.
fn pattern_of(uri: &str) -> String {
    let path = uri.split('?').next().unwrap_or(uri);
    let segments: Vec<&str> = path
        .split('/')
        .enumerate()
        .map(|(i, seg)| {
            if i == 3 && !matches!(seg, "tokens" | "decisions" | "tender") {
                "{id}"
            } else {
                seg
            }
        })
        .collect();
    segments.join("/")
}

fn console_route(pattern: &str) -> &'static str {
    credit_rules::http::CONSOLE_ROUTES
        .iter()
        .map(|(_, p)| *p)
        .find(|p| *p == pattern)
        .unwrap_or_else(|| panic!("{pattern} is not a console route"))
}

#[tokio::test]
async fn the_office_reviews_a_draft_with_its_diff_and_chart_and_the_bureau_sees_the_outcome() {
    let (s, _) = console_state();
    crate::http::seed_bidder(&s).await;
    let water = sign_in(&s, WATER).await;
    let city = sign_in(&s, CITY).await;
    let source = water_source(&s)
        .await
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    let base = s.registry.head_hash("water").expect("active");
    let fields = [
        ("_csrf", water.csrf.as_str()),
        ("source", source.as_str()),
        ("base", base.as_str()),
        ("message", "处罚扣分由 2 分调为 3 分"),
    ];
    let saved = send(
        &s,
        "POST",
        "/console/rulesets/water/draft",
        Some(&water),
        Some(&fields),
    )
    .await;
    assert_eq!(saved.location(), "/console/drafts/1");

    let queue = send(&s, "GET", "/console/drafts", Some(&city), None).await;
    assert!(
        queue.body.contains("待审核（1）") && queue.body.contains("处罚扣分由 2 分调为 3 分"),
        "{}",
        queue.body
    );
    let draft = send(&s, "GET", "/console/drafts/1", Some(&city), None).await;
    assert_eq!(draft.status, StatusCode::OK, "{}", draft.body);
    for wanted in [
        "与原版本的差异",
        "参数",
        "每次处罚扣分",
        "影响分析",
        "<svg class=\"chart\"",
        "分数变化分布",
        "受影响最大的主体",
        "审核意见",
    ] {
        assert!(draft.body.contains(wanted), "{wanted}:\n{}", draft.body);
    }
    let other_bureau = sign_in(&s, TRANSPORT).await;
    let hidden = send(&s, "GET", "/console/drafts/1", Some(&other_bureau), None).await;
    assert_eq!(
        hidden.status,
        StatusCode::NOT_FOUND,
        "another sector's draft is not found"
    );

    let blank = [
        ("_csrf", city.csrf.as_str()),
        ("decision", "reject"),
        ("comment", "  "),
    ];
    let refused = send(
        &s,
        "POST",
        "/console/drafts/1/decide",
        Some(&city),
        Some(&blank),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("请填写审核意见"), "{}", refused.body);
    let reject = [
        ("_csrf", city.csrf.as_str()),
        ("decision", "reject"),
        ("comment", "扣分过重，请说明依据"),
    ];
    let done = send(
        &s,
        "POST",
        "/console/drafts/1/decide",
        Some(&city),
        Some(&reject),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER);
    let seen = send(&s, "GET", "/console/drafts/1", Some(&water), None).await;
    assert!(
        seen.body.contains("已驳回") && seen.body.contains("扣分过重，请说明依据"),
        "{}",
        seen.body
    );
    assert!(seen.body.contains("重新起草"), "the bureau may draft again");

    let again = [
        ("_csrf", water.csrf.as_str()),
        ("source", source.as_str()),
        ("base", base.as_str()),
        ("message", "依据水建设〔2019〕307号调整"),
    ];
    let resubmitted = send(
        &s,
        "POST",
        "/console/rulesets/water/draft",
        Some(&water),
        Some(&again),
    )
    .await;
    assert_eq!(resubmitted.location(), "/console/drafts/2");
    let approve = [
        ("_csrf", city.csrf.as_str()),
        ("decision", "approve"),
        ("comment", "同意"),
    ];
    let done = send(
        &s,
        "POST",
        "/console/drafts/2/decide",
        Some(&city),
        Some(&approve),
    )
    .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_ne!(
        s.registry.head_hash("water").expect("active"),
        base,
        "the new version is live"
    );
    let after = send(&s, "GET", "/console/drafts/2", Some(&city), None).await;
    assert!(
        after.body.contains("已生效") && after.body.contains("每次处罚扣分"),
        "the diff stays after activation:\n{}",
        after.body
    );
}

#[tokio::test]
async fn a_rule_set_shows_its_clauses_highlighted_source_history_and_any_two_versions_diff() {
    let (s, _) = console_state();
    let city = sign_in(&s, CITY).await;
    let water = sign_in(&s, WATER).await;
    let list = send(&s, "GET", "/console/rulesets", Some(&water), None).await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.body);
    assert!(
        list.body.contains("/console/rulesets/water/draft"),
        "water may draft water"
    );
    assert!(
        !list.body.contains("/console/rulesets/transport/draft"),
        "but not transport"
    );
    assert!(list.body.contains("全市统一") && list.body.contains("seed"));

    let old = s.registry.head_hash("water").expect("active");
    let source = water_source(&s)
        .await
        .replace("const 每次处罚扣分     = 2", "const 每次处罚扣分     = 3");
    let body =
        serde_json::json!({ "ruleset": "water", "source": source, "message": "加重处罚扣分" });
    let submitted = crate::http::call(&s, "POST", "/api/v1/drafts", Some(WATER), Some(body)).await;
    assert_eq!(submitted.status, StatusCode::CREATED);
    let approve = [
        ("_csrf", city.csrf.as_str()),
        ("decision", "approve"),
        ("comment", "同意执行"),
    ];
    send(
        &s,
        "POST",
        "/console/drafts/1/decide",
        Some(&city),
        Some(&approve),
    )
    .await;
    assert_ne!(s.registry.head_hash("water").expect("active"), old);

    let page = send(&s, "GET", "/console/rulesets/water", Some(&water), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("<article class=\"cr-document\""),
        "rendered clauses"
    );
    assert!(
        page.body.contains("<span class=\"kw\">ruleset</span>"),
        "highlighted source"
    );
    assert!(
        page.body.contains("加重处罚扣分") && page.body.contains("市公管局：同意执行"),
        "history with the approver"
    );
    assert!(page.body.contains("生效中"));
    let versions = crate::http::call(
        &s,
        "GET",
        "/api/v1/rulesets/water/versions",
        Some(CITY),
        None,
    )
    .await;
    let hashes: Vec<&str> = versions.body["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|v| v["hash"].as_str().expect("hash"))
        .collect();
    assert_eq!(hashes.len(), 2);
    let uri = format!(
        "/console/rulesets/water/diff?from={}&to={}",
        hashes[0], hashes[1]
    );
    let diff = send(&s, "GET", &uri, Some(&water), None).await;
    assert_eq!(diff.status, StatusCode::OK, "{}", diff.body);
    assert!(
        diff.body.contains("参数") && diff.body.contains("每次处罚扣分"),
        "{}",
        diff.body
    );
    assert!(
        diff.body.contains("class=\"del\"><code>2</code>") || diff.body.contains("= 2"),
        "{}",
        diff.body
    );
}

/// A console whose tokens live in a file (as under `serve`), in `dir`.
fn state_with_token_file(dir: &std::path::Path) -> AppState {
    let path = dir.join("tokens.json");
    std::fs::write(
        &path,
        serde_json::to_string(&crate::http::token_file()).expect("json"),
    )
    .expect("write");
    let (state, _) = console_state();
    let app = Arc::into_inner(state.0).expect("the only reference");
    let table = credit_rules::http::TokenTable::from_file(&path).expect("loads");
    AppState(Arc::new(app.with_token_table(table)))
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).expect("start") + start.len();
    let rest = &text[from..];
    &rest[..rest.find(end).expect("end")]
}

#[tokio::test]
async fn the_office_creates_rotates_and_revokes_tokens_and_sessions_follow() {
    let dir = tempfile::tempdir().expect("dir");
    let s = state_with_token_file(dir.path());
    let city = sign_in(&s, CITY).await;
    let page = send(&s, "GET", "/console/ops/tokens", Some(&city), None).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("市交通运输局") && !page.body.contains(WATER),
        "no secret shown"
    );
    assert!(
        page.body.contains("园林和林业（尚无令牌）"),
        "sectors without a bureau token are marked"
    );

    let create = [
        ("_csrf", city.csrf.as_str()),
        ("action", "create"),
        ("name", "武汉市园林和林业局"),
        ("role", "bureau"),
        ("sector", "园林和林业"),
    ];
    let made = send(
        &s,
        "POST",
        "/console/ops/tokens",
        Some(&city),
        Some(&create),
    )
    .await;
    assert_eq!(made.status, StatusCode::OK, "{}", made.body);
    let plain = between(
        &made.body,
        "<p class=\"plain-token\" id=\"plain-token\">",
        "</p>",
    )
    .to_owned();
    assert_eq!(plain.len(), 48);
    let gardens = sign_in(&s, &plain).await;
    let home = send(&s, "GET", "/console", Some(&gardens), None).await;
    assert!(home.body.contains("行业主管部门（园林和林业）"));
    let again = send(&s, "GET", "/console/ops/tokens", Some(&city), None).await;
    assert!(
        !again.body.contains(&plain),
        "the plain token is shown once"
    );

    let print = &credit_rules::http::hash_token(&plain)[..12];
    let rotate = [
        ("_csrf", city.csrf.as_str()),
        ("action", "rotate"),
        ("fingerprint", print),
    ];
    let rotated = send(
        &s,
        "POST",
        "/console/ops/tokens",
        Some(&city),
        Some(&rotate),
    )
    .await;
    let newer = between(
        &rotated.body,
        "<p class=\"plain-token\" id=\"plain-token\">",
        "</p>",
    )
    .to_owned();
    assert_ne!(newer, plain);
    let ended = send(&s, "GET", "/console", Some(&gardens), None).await;
    assert_eq!(
        ended.status,
        StatusCode::SEE_OTHER,
        "the rotated token's session ended"
    );
    let refused = send(
        &s,
        "POST",
        "/console/signin",
        None,
        Some(&[("token", plain.as_str())]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let print = &credit_rules::http::hash_token(&newer)[..12];
    let revoke = [
        ("_csrf", city.csrf.as_str()),
        ("action", "revoke"),
        ("fingerprint", print),
    ];
    let revoked = send(
        &s,
        "POST",
        "/console/ops/tokens",
        Some(&city),
        Some(&revoke),
    )
    .await;
    assert!(
        revoked.body.contains("已吊销 武汉市园林和林业局"),
        "{}",
        revoked.body
    );
    let refused = send(
        &s,
        "POST",
        "/console/signin",
        None,
        Some(&[("token", newer.as_str())]),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);

    let bad = [
        ("_csrf", city.csrf.as_str()),
        ("action", "create"),
        ("name", "x"),
        ("role", "bureau"),
        ("sector", ""),
    ];
    let page = send(&s, "POST", "/console/ops/tokens", Some(&city), Some(&bad)).await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(page.body.contains("sector"), "{}", page.body);

    // The CLI changes the same file; the running service sees it at once.
    let file = dir.path().join("tokens.json");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args([
            "tokens",
            "create",
            "--role",
            "evaluator",
            "--name",
            "第二评标系统",
            "--file",
        ])
        .arg(&file)
        .output()
        .expect("runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let cli_token = String::from_utf8(output.stdout)
        .expect("utf-8")
        .trim()
        .to_owned();
    sign_in(&s, &cli_token).await;
    let listed = std::process::Command::new(env!("CARGO_BIN_EXE_credit-rules"))
        .args(["tokens", "list", "--file"])
        .arg(&file)
        .output()
        .expect("runs");
    let listed = String::from_utf8(listed.stdout).expect("utf-8");
    assert!(
        listed.contains("第二评标系统") && !listed.contains(&cli_token),
        "{listed}"
    );
}

#[tokio::test]
async fn an_evaluation_from_the_console_shows_each_clause_with_its_records_and_is_logged() {
    let (s, _) = console_state();
    crate::http::seed_bidder(&s).await;
    let evaluator = sign_in(&s, EVALUATOR).await;
    let form = send(&s, "GET", "/console/evaluate", Some(&evaluator), None).await;
    assert!(form.body.contains("2024-06-01"), "today is the default day");
    let fields = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("version", ""),
        ("as_of", "2024-08-01"),
        ("uscc", crate::http::BIDDER),
        ("records", ""),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate",
        Some(&evaluator),
        Some(&fields),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body.contains("评价结果") && page.body.contains("合格") && page.body.contains("4.40"),
        "{}",
        page.body
    );
    assert!(page.body.contains("评分"), "score clauses listed");
    let log = crate::http::call(&s, "GET", "/api/v1/decisions", Some(CITY), None).await;
    let items = log.body["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "logged like an API evaluation");
    let city = sign_in(&s, CITY).await;
    let uri = format!(
        "/console/ops/decisions?uscc={}&ruleset=water&from=2024-01-01&to=2030-12-31",
        crate::http::BIDDER
    );
    let log = send(&s, "GET", &uri, Some(&city), None).await;
    assert_eq!(log.status, StatusCode::OK, "{}", log.body);
    assert!(
        log.body.contains("评价系统") || log.body.contains("评标系统"),
        "who asked: {}",
        log.body
    );
    assert!(
        log.body.contains("该主体的信用记录") && log.body.contains("有效"),
        "{}",
        log.body
    );
    let none = send(
        &s,
        "GET",
        "/console/ops/decisions?ruleset=transport",
        Some(&city),
        None,
    )
    .await;
    assert!(none.body.contains("没有符合条件的评价记录"));
    let bad = send(
        &s,
        "GET",
        "/console/ops/decisions?from=yesterday",
        Some(&city),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let bad = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("as_of", "2024-08-01"),
        ("uscc", "123"),
    ];
    let refused = send(
        &s,
        "POST",
        "/console/evaluate",
        Some(&evaluator),
        Some(&bad),
    )
    .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        refused.body.contains("统一社会信用代码有误"),
        "{}",
        refused.body
    );
}

/// The page's text with askama's escapes undone (to compare with texts printed elsewhere).
fn unescaped(html: &str) -> String {
    html.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// Codes of demo entities with records, stored in `s`.
fn stored_demo_entities(s: &AppState, count: usize) -> Vec<String> {
    let config = credit_rules::demo::DemoConfig {
        seed: 11,
        entities: count,
        records_per_entity: (1, 4),
    };
    let mut codes = Vec::new();
    for (uscc, _, records) in credit_rules::demo::entities(config) {
        s.store.put_records(&records).expect("stored");
        codes.push(uscc.to_string());
    }
    codes
}

#[tokio::test]
async fn a_tender_from_the_console_is_ranked_like_the_api_and_every_member_is_logged() {
    let (s, _) = console_state();
    crate::http::seed_bidder(&s).await;
    let demo = stored_demo_entities(&s, 3);
    let unknown = "91230500MA1B3N1N2M";
    let evaluator = sign_in(&s, EVALUATOR).await;
    let form = send(&s, "GET", "/console/evaluate", Some(&evaluator), None).await;
    assert!(
        form.body.contains("招标项目评价") && form.body.contains("评价并排名"),
        "the tender form is on the evaluation page"
    );
    let bidders = format!("青山水利：{}\n{}\n{unknown}", crate::http::BIDDER, demo[0]);
    let consortia = format!("某联合体：{}、{}", demo[1], demo[2]);
    let fields = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("version", ""),
        ("as_of", "2024-08-01"),
        ("bidders", bidders.as_str()),
        ("consortia", consortia.as_str()),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate/tender",
        Some(&evaluator),
        Some(&fields),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    let html = unescaped(&page.body);
    assert!(
        html.contains("排名结果") && html.contains("开标日期 2024-08-01"),
        "{html}"
    );
    assert!(
        html.contains("牵头人 ") && html.contains("联合体1"),
        "{html}"
    );
    assert!(
        html.contains("库中没有以下单位的任何信用记录") && html.contains(unknown),
        "an unknown entity is pointed out: {html}"
    );
    assert!(html.contains(&bidders), "the typed bidders are kept");

    // The same bids through the API: the page ranks them the same way.
    let api_bids = serde_json::json!([
        { "id": "投标人1", "name": "青山水利", "members": [crate::http::BIDDER] },
        { "id": "投标人2", "members": [demo[0]] },
        { "id": "投标人3", "members": [unknown] },
        { "id": "联合体1", "name": "某联合体", "members": [demo[1], demo[2]] },
    ]);
    let api = crate::http::call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(serde_json::json!({ "ruleset": "water", "as_of": "2024-08-01", "bidders": api_bids })),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let table = between(&html, "<table class=\"ranking\">", "</table>");
    let rows: Vec<&str> = table.split("<tr>").skip(2).collect();
    assert_eq!(rows.len(), 4, "{table}");
    let ranking = api.body["ranking"].as_array().expect("ranking");
    assert!(!ranking.is_empty(), "{}", api.body);
    for (i, id) in ranking.iter().enumerate() {
        let id = id.as_str().expect("id");
        assert!(
            rows[i].contains(id),
            "ranked bids first, in order: row {i} is {id}: {}",
            rows[i]
        );
    }
    for bid in api.body["bids"].as_array().expect("bids") {
        let id = bid["bidder"].as_str().expect("id");
        let row = rows
            .iter()
            .find(|r| r.contains(id))
            .expect("every bid listed");
        assert!(
            row.contains(bid["decision_label"].as_str().expect("label")),
            "{id}: {row}"
        );
        let total = match &bid["total"] {
            serde_json::Value::String(t) => t.clone(),
            other => other.to_string(),
        };
        assert!(
            row.contains(&format!("<td>{total}</td>")),
            "{id} scores {total}: {row}"
        );
    }
    // Every member's decision is logged, by the console as by the API.
    let log = crate::http::call(&s, "GET", "/api/v1/decisions", Some(CITY), None).await;
    assert_eq!(
        log.body["items"].as_array().expect("items").len(),
        10,
        "5 members from the console, 5 from the API"
    );
    assert!(
        html.contains("评价记录 1"),
        "member decisions name their log entry"
    );
    assert!(
        html.contains("<details class=\"member\">"),
        "each member's decision expands"
    );
}

#[tokio::test]
async fn bad_tender_forms_get_chinese_errors_with_the_text_kept_and_no_evaluation() {
    let (s, _) = console_state();
    let evaluator = sign_in(&s, EVALUATOR).await;
    let cases: &[(&str, &str, &str)] = &[
        (
            "9142011585440068",
            "",
            "“投标人”第 1 行：统一社会信用代码 9142011585440068 有误：应为 18 位",
        ),
        ("", "", "请至少填写一个投标人或联合体"),
        ("", crate::http::BIDDER, "联合体至少要有两个成员"),
        ("914201158544006810", "", "第 18 位校验码"),
    ];
    for (bidders, consortia, expected) in cases {
        let fields = [
            ("_csrf", evaluator.csrf.as_str()),
            ("ruleset", "water"),
            ("as_of", "2024-08-01"),
            ("bidders", bidders),
            ("consortia", consortia),
        ];
        let page = send(
            &s,
            "POST",
            "/console/evaluate/tender",
            Some(&evaluator),
            Some(&fields),
        )
        .await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            page.body
        );
        let html = unescaped(&page.body);
        assert!(html.contains(expected), "{expected}: {html}");
        assert!(
            html.contains(&format!("{bidders}</textarea>")),
            "typed text kept: {html}"
        );
        assert!(
            html.contains(&format!("{consortia}</textarea>")),
            "typed text kept"
        );
    }
    let unknown_rules = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "nosuch"),
        ("as_of", "2024-08-01"),
        ("bidders", crate::http::BIDDER),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate/tender",
        Some(&evaluator),
        Some(&unknown_rules),
    )
    .await;
    assert_eq!(
        page.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        page.body
    );
    assert!(page.body.contains("没有这个规则集或版本"), "{}", page.body);
    let without_csrf = [
        ("ruleset", "water"),
        ("as_of", "2024-08-01"),
        ("bidders", crate::http::BIDDER),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate/tender",
        Some(&evaluator),
        Some(&without_csrf),
    )
    .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let log = crate::http::call(&s, "GET", "/api/v1/decisions", Some(CITY), None).await;
    assert!(
        log.body["items"].as_array().expect("items").is_empty(),
        "nothing refused was evaluated"
    );
}

/// The tender contexts logged so far, oldest first.
fn logged_contexts(s: &AppState) -> Vec<Option<credit_rules::context::TenderContext>> {
    use credit_rules::store::DecisionQuery;
    let mut logged = s
        .store
        .decisions(&DecisionQuery::default())
        .expect("decisions");
    logged.sort_by_key(|d| d.seq);
    logged.into_iter().map(|d| d.entry.context).collect()
}

#[tokio::test]
async fn the_tender_context_typed_in_either_form_is_evaluated_with_logged_and_shown() {
    use rust_decimal::Decimal;
    let (s, _) = console_state();
    crate::http::seed_bidder(&s).await;
    let demo = stored_demo_entities(&s, 2);
    let evaluator = sign_in(&s, EVALUATOR).await;
    let form = send(&s, "GET", "/console/evaluate", Some(&evaluator), None).await;
    for label in [
        "项目类型（可选）",
        "项目预算（元，可选）",
        "招标项目行业（可选）",
        "招标项目预算（元，可选）",
    ] {
        assert!(form.body.contains(&format!(">{label}</label>")), "{label}");
    }

    // One entity, with a project type and a budget.
    let fields = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("as_of", "2024-08-01"),
        ("uscc", crate::http::BIDDER),
        ("project_type", " 施工 "),
        ("sector", ""),
        ("budget", "5000000"),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate",
        Some(&evaluator),
        Some(&fields),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("项目信息：项目类型：施工；项目预算（元）：5000000"),
        "{}",
        page.body
    );
    assert!(page.body.contains("value=\" 施工 \""), "typed values kept");
    let expected = credit_rules::context::TenderContext {
        project_type: Some("施工".into()),
        sector: None,
        budget: Some(Decimal::from(5_000_000)),
    };
    assert_eq!(logged_contexts(&s), vec![Some(expected)]);

    // A tender: the context reaches every member's decision.
    let bidders = format!("{}\n{}", crate::http::BIDDER, demo[0]);
    let fields = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("as_of", "2024-08-01"),
        ("bidders", bidders.as_str()),
        ("consortia", ""),
        ("project_type", ""),
        ("sector", "水务"),
        ("budget", "4500000.50"),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate/tender",
        Some(&evaluator),
        Some(&fields),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(
        page.body
            .contains("项目信息：项目行业：水务；项目预算（元）：4500000.50"),
        "{}",
        page.body
    );
    let expected = credit_rules::context::TenderContext {
        project_type: None,
        sector: Some("水务".into()),
        budget: Some(Decimal::new(450_000_050, 2)),
    };
    let logged = logged_contexts(&s);
    assert_eq!(logged.len(), 3);
    assert!(
        logged[1..].iter().all(|c| c.as_ref() == Some(&expected)),
        "{logged:?}"
    );

    // No context: said so, and logged without one.
    let fields = [
        ("_csrf", evaluator.csrf.as_str()),
        ("ruleset", "water"),
        ("as_of", "2024-08-01"),
        ("uscc", crate::http::BIDDER),
    ];
    let page = send(
        &s,
        "POST",
        "/console/evaluate",
        Some(&evaluator),
        Some(&fields),
    )
    .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.body);
    assert!(page.body.contains("项目信息：未填写"), "{}", page.body);
    assert_eq!(logged_contexts(&s).last(), Some(&None));

    // Mistakes: Chinese messages naming the field, the typed values kept, nothing evaluated.
    let long = "水".repeat(201);
    let cases: [(&str, &str, &str, &str); 3] = [
        (
            "/console/evaluate",
            "-1",
            "",
            "项目预算（元）不能为负数，这里是 -1",
        ),
        (
            "/console/evaluate/tender",
            "500万",
            "",
            "项目预算（元）“500万”不是金额",
        ),
        (
            "/console/evaluate/tender",
            "",
            &long,
            "项目行业应为 1 至 200 个字，这里有 201 个",
        ),
    ];
    for (uri, budget, sector, expected) in cases {
        let fields = [
            ("_csrf", evaluator.csrf.as_str()),
            ("ruleset", "water"),
            ("as_of", "2024-08-01"),
            ("uscc", crate::http::BIDDER),
            ("bidders", crate::http::BIDDER),
            ("project_type", "施工"),
            ("sector", sector),
            ("budget", budget),
        ];
        let page = send(&s, "POST", uri, Some(&evaluator), Some(&fields)).await;
        assert_eq!(
            page.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            page.body
        );
        let html = unescaped(&page.body);
        assert!(html.contains(expected), "{uri}: {expected}: {html}");
        assert!(
            html.contains(&format!("value=\"{budget}\"")),
            "{uri}: budget kept"
        );
        assert!(
            html.contains(&format!("value=\"{sector}\"")),
            "{uri}: sector kept"
        );
        assert!(html.contains("value=\"施工\""), "{uri}: project type kept");
    }
    assert_eq!(
        logged_contexts(&s).len(),
        4,
        "nothing refused was evaluated"
    );
}

#[tokio::test]
async fn the_intake_status_lists_the_last_rejected_rows_with_their_reasons() {
    let (s, _) = console_state();
    let city = sign_in(&s, CITY).await;
    let page = send(&s, "GET", "/console/ops", Some(&city), None).await;
    assert!(page.body.contains("没有被拒收的数据"), "{}", page.body);

    let feed = crate::sync::Feed::default();
    *feed.rows.lock().expect("lock") = crate::sync::rows();
    let url = crate::sync::serve(feed.clone());
    let store = s.store.clone();
    let summary = tokio::task::spawn_blocking(move || {
        credit_rules::sync::sync(store.as_ref(), &crate::sync::options(&url, None))
    })
    .await
    .expect("joined")
    .expect("synced");
    assert_eq!(summary.rejected.len(), 1, "{:?}", summary.rejected);
    let (_, reason) = &summary.rejected[0];
    let page = send(&s, "GET", "/console/ops", Some(&city), None).await;
    let html = unescaped(&page.body);
    assert!(html.contains("最近被拒收的数据"), "{html}");
    assert!(
        html.contains(reason.as_str()),
        "the reason as printed: {reason}\n{html}"
    );
    assert!(
        html.contains("XZCF-SYNC-2") && html.contains("914201158544006810"),
        "{html}"
    );
    assert!(html.contains("sync province, page after cursor"), "{html}");

    // Many more bad rows: the newest are kept, and only so many.
    let bad: Vec<serde_json::Value> = (0..230)
        .map(|i| serde_json::json!({ "xxbh": format!("BAD-{i:03}") }))
        .collect();
    feed.rows.lock().expect("lock").extend(bad);
    let store = s.store.clone();
    let url = crate::sync::serve(feed);
    let summary = tokio::task::spawn_blocking(move || {
        credit_rules::sync::sync(store.as_ref(), &crate::sync::options(&url, None))
    })
    .await
    .expect("joined")
    .expect("synced");
    assert_eq!(summary.rejected.len(), 230);
    let page = send(&s, "GET", "/console/ops", Some(&city), None).await;
    let table = between(&page.body, "最近被拒收的数据", "</table>");
    let shown = table.matches("<tr><td class=\"date\">").count();
    assert_eq!(shown, credit_rules::import::rejections::KEEP, "bounded");
    let newest = table.find("BAD-229").expect("the newest is listed");
    let older = table.find("BAD-228").expect("and the one before");
    assert!(newest < older, "newest first");
    assert!(
        !table.contains("BAD-029") && !table.contains("XZCF-SYNC-2"),
        "the oldest fell off"
    );
}

#[tokio::test]
async fn the_decision_log_is_paged_through_the_store_query() {
    let (s, _) = console_state();
    crate::http::seed_bidder(&s).await;
    let bidders: Vec<serde_json::Value> = (0..205)
        .map(|i| serde_json::json!({ "id": format!("B{i}"), "members": [stored_code(i)] }))
        .collect();
    let api = crate::http::call(
        &s,
        "POST",
        "/api/v1/tenders/evaluate",
        Some(EVALUATOR),
        Some(serde_json::json!({ "ruleset": "water", "as_of": "2024-08-01", "bidders": bidders })),
    )
    .await;
    assert_eq!(api.status, StatusCode::OK, "{}", api.body);
    let city = sign_in(&s, CITY).await;
    let first = send(&s, "GET", "/console/ops/decisions", Some(&city), None).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    let rows = |html: &str| html.matches("<tr><th scope=\"row\">").count();
    assert_eq!(rows(&first.body), 200);
    assert!(
        first.body.contains("<th scope=\"row\">1</th>"),
        "the log from its start"
    );
    let next = between(
        &first.body,
        "<a href=\"/console/ops/decisions?",
        "\" rel=\"next\"",
    )
    .replace("&#38;", "&");
    assert!(next.contains("after=200"), "{next}");
    let second = send(
        &s,
        "GET",
        &format!("/console/ops/decisions?{next}"),
        Some(&city),
        None,
    )
    .await;
    assert_eq!(rows(&second.body), 5, "{}", second.body);
    assert!(second.body.contains("<th scope=\"row\">201</th>"));
    assert!(!second.body.contains("rel=\"next\""), "the last page");
    let bad = send(
        &s,
        "GET",
        "/console/ops/decisions?after=x",
        Some(&city),
        None,
    )
    .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
}

/// A valid USCC for a number (demo entities' codes).
fn stored_code(i: u32) -> String {
    let config = credit_rules::demo::DemoConfig::default();
    credit_rules::demo::entity(&config, i as usize)
        .0
        .to_string()
}
