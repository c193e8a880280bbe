//! The dashboard over real HTTP on a real SQLite file: users and
//! invitations through the API, login (a new session id every time: no
//! fixation), CSRF on every form, a partner's pages scoped like its key,
//! failed logins limited and audited, logout.

mod common;

use common::{TestApp, ADMIN_KEY};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use reqwest::StatusCode;
use serde_json::json;

/// A browser's view of one session: its cookies, kept by hand.
struct Browser<'a> {
    app: &'a TestApp,
    cookies: Vec<(String, String)>,
}

struct Page {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl<'a> Browser<'a> {
    fn new(app: &'a TestApp) -> Self {
        Browser {
            app,
            cookies: Vec::new(),
        }
    }

    fn cookie(&self, name: &str) -> Option<String> {
        self.cookies
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }

    fn keep(&mut self, resp: &reqwest::Response) {
        for c in resp.headers().get_all(SET_COOKIE) {
            let c = c.to_str().unwrap();
            let (pair, attrs) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            self.cookies.retain(|(n, _)| n != k);
            if !attrs.contains("Max-Age=0") {
                self.cookies.push((k.to_string(), v.to_string()));
            }
        }
    }

    async fn send(&mut self, req: reqwest::RequestBuilder) -> Page {
        let header: Vec<String> = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        let resp = req.header(COOKIE, header.join("; ")).send().await.unwrap();
        self.keep(&resp);
        Page {
            status: resp.status(),
            location: resp
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Page {
        let req = self.app.client.get(self.app.url(path));
        self.send(req).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let req = self.app.client.post(self.app.url(path)).form(form);
        self.send(req).await
    }

    /// Posts a form as a browser does when it carries a file
    /// (`multipart/form-data`); `files` are (field, file name, content).
    async fn post_multipart(
        &mut self,
        path: &str,
        form: &[(&str, &str)],
        files: &[(&str, &str, &str)],
    ) -> Page {
        let boundary = "----clickledgerTestBoundary7MA4YWxk";
        let mut body = String::new();
        for (k, v) in form {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"
            ));
        }
        for (k, name, content) in files {
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"; filename=\"{name}\"\r\nContent-Type: text/csv\r\n\r\n{content}\r\n"
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let req = self
            .app
            .client
            .post(self.app.url(path))
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body);
        self.send(req).await
    }

    /// Logs in through the form (its token first); answers the POST.
    async fn login(&mut self, fields: &[(&str, &str)]) -> Page {
        let form = self.get("/login").await;
        let token = csrf_of(&form.body);
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post("/login", &all).await
    }
}

fn csrf_of(html: &str) -> String {
    let at = html
        .find("name=\"csrf\" value=\"")
        .expect("a form with a token")
        + 19;
    html[at..].split('"').next().unwrap().to_string()
}

async fn user(app: &TestApp, email: &str, role: &str, partner: Option<&str>) -> serde_json::Value {
    let mut b = json!({"email": email, "role": role, "password": "correct horse battery"});
    if let Some(p) = partner {
        b["partner_id"] = json!(p);
    }
    app.create("/api/v1/users", b).await
}

/// A user of the affiliate, logged in.
async fn affiliate_user<'a>(app: &'a TestApp, affiliate_id: &str) -> Browser<'a> {
    partner_user(app, "affiliate", affiliate_id).await
}

/// A user of the partner (`advertiser` or `affiliate`), logged in.
async fn partner_user<'a>(app: &'a TestApp, role: &str, partner_id: &str) -> Browser<'a> {
    let email = format!("{}@example.com", &role[..3]);
    user(app, &email, role, Some(partner_id)).await;
    let mut b = Browser::new(app);
    b.login(&[("email", &email), ("password", "correct horse battery")])
        .await;
    b
}

/// A click on the setup's link and its registration postback with `txid`.
async fn registration(
    app: &TestApp,
    s: &common::Setup,
    txid: &str,
) -> (String, (StatusCode, serde_json::Value)) {
    let cid = app.click(&s.link_id).await;
    let answer = app
        .postback(&[
            ("token", &s.token),
            ("click_id", &cid),
            ("event", "registration"),
            ("txid", txid),
        ])
        .await;
    (cid, answer)
}

/// A link of another affiliate on the same offer.
async fn other_affiliates_link(app: &TestApp, offer_id: &str) -> serde_json::Value {
    let other = app
        .create("/api/v1/affiliates", json!({"name": "Other"}))
        .await;
    app.create(
        "/api/v1/links",
        json!({"offer_id": offer_id, "affiliate_id": other["id"]}),
    )
    .await
}

#[tokio::test]
async fn users_are_created_and_listed_through_the_admin_api_without_their_hash() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let u = user(&app, "Ann@Example.com", "affiliate", Some(&s.affiliate_id)).await;
    assert_eq!(u["email"], "Ann@Example.com");
    assert_eq!(u["partner_id"], s.affiliate_id.as_str());
    let (status, list) = app.get("/api/v1/users").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("argon2"), "{list}");
    // refusals name their field
    let (status, v) = app
        .post("/api/v1/users", json!({"email": "ann@example.com", "role": "admin", "password": "correct horse battery"}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        v["message"],
        "email: a user with `ann@example.com` exists already"
    );
    let (_, v) = app
        .post("/api/v1/users", json!({"email": "b@example.com", "role": "affiliate", "password": "correct horse battery"}))
        .await;
    assert_eq!(
        v["message"],
        "partner_id: an affiliate user needs the id of its affiliate"
    );
    let (_, v) = app
        .post("/api/v1/users", json!({"email": "b@example.com", "role": "affiliate", "partner_id": "aff_nope", "password": "correct horse battery"}))
        .await;
    assert_eq!(v["message"], "partner_id: no affiliate `aff_nope`");
    let (_, v) = app
        .post(
            "/api/v1/users",
            json!({"email": "b@example.com", "role": "admin", "password": "short"}),
        )
        .await;
    assert_eq!(v["message"], "password must be 10 to 1000 characters long");
    // a partner key may not
    let (status, _) = app
        .call_as(
            &s.affiliate_key,
            reqwest::Method::GET,
            "/api/v1/users",
            None,
        )
        .await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn login_issues_a_new_session_id_and_logout_ends_it() {
    let app = TestApp::spawn().await;
    user(&app, "admin@example.com", "admin", None).await;
    let mut b = Browser::new(&app);
    let first = b.get("/").await;
    assert_eq!(first.status, StatusCode::SEE_OTHER);
    assert_eq!(first.location.as_deref(), Some("/login"));

    // a session id planted before login is never adopted
    b.cookies
        .push(("cl_session".into(), "planted-by-an-attacker".into()));
    let r = b
        .login(&[
            ("email", "admin@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(
        (r.status, r.location.as_deref()),
        (StatusCode::SEE_OTHER, Some("/"))
    );
    let one = b.cookie("cl_session").unwrap();
    assert_ne!(one, "planted-by-an-attacker");
    assert!(one.len() >= 52, "{one}");
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    assert!(home.body.contains("Overview") && home.body.contains("admin@example.com"));

    // logging in again from the same browser (the form fetched in another
    // tab: with a live session /login sends the browser home): another id,
    // the first one dead
    assert_eq!(b.get("/login").await.location.as_deref(), Some("/"));
    b.cookies.retain(|(k, _)| k != "cl_session");
    let form = b.get("/login").await;
    b.cookies.push(("cl_session".into(), one.clone()));
    let token = csrf_of(&form.body);
    let r = b
        .post(
            "/login",
            &[
                ("csrf", &token),
                ("email", "admin@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let two = b.cookie("cl_session").unwrap();
    assert_ne!(one, two);
    let mut old = Browser::new(&app);
    old.cookies.push(("cl_session".into(), one));
    assert_eq!(old.get("/").await.location.as_deref(), Some("/login"));

    // logout: a POST with the token; afterwards / goes to /login again
    let home = b.get("/").await;
    let token = csrf_of(&home.body);
    let out = b.post("/logout", &[("csrf", &token)]).await;
    assert_eq!(out.location.as_deref(), Some("/login"));
    let mut same = Browser::new(&app);
    same.cookies.push(("cl_session".into(), two));
    assert_eq!(same.get("/").await.location.as_deref(), Some("/login"));
}

#[tokio::test]
async fn forms_without_their_token_are_refused() {
    let app = TestApp::spawn().await;
    user(&app, "admin@example.com", "admin", None).await;
    let mut b = Browser::new(&app);
    // the login form itself needs the token its cookie carries
    let r = b
        .post(
            "/login",
            &[
                ("email", "admin@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("without its security token"), "{}", r.body);
    b.login(&[
        ("email", "admin@example.com"),
        ("password", "correct horse battery"),
    ])
    .await;
    let r = b.post("/advertisers", &[("name", "Sneaky")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(r.body.contains("Form refused"));
    let r = b
        .post("/advertisers", &[("name", "Sneaky"), ("csrf", "wrong")])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    let (_, list) = app.get("/api/v1/advertisers").await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing was created"
    );
    // with it: created, and the page shows the secrets once
    let page = b.get("/advertisers").await;
    let token = csrf_of(&page.body);
    let r = b
        .post("/advertisers", &[("name", "Acme"), ("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert!(r.body.contains("signing secret whsec_"), "{}", r.body);
    // a refusal is the API's message, next to its field
    let r = b
        .post(
            "/links",
            &[
                ("offer_id", "off_nope"),
                ("affiliate_id", "aff_x"),
                ("csrf", &token),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("id=\"new-link-offer_id-error\">offer_id: no offer `off_nope`"),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_partner_sees_what_its_key_sees_and_no_admin_page() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let other_link = other_affiliates_link(&app, &s.offer_id).await;
    let mut b = affiliate_user(&app, &s.affiliate_id).await;
    let links = b.get("/links").await;
    assert_eq!(links.status, StatusCode::OK);
    assert!(links.body.contains(&s.link_id));
    assert!(
        !links.body.contains(other_link["id"].as_str().unwrap()),
        "another affiliate's link"
    );
    assert!(
        !links.body.contains("New tracking link"),
        "no create form for a partner"
    );
    for admin_page in ["/advertisers", "/affiliates", "/users", "/postback-log"] {
        let p = b.get(admin_page).await;
        assert_eq!(p.status, StatusCode::FORBIDDEN, "{admin_page}");
        assert!(
            p.body.contains("an affiliate key cannot"),
            "{admin_page}: {}",
            p.body
        );
    }
    let token = csrf_of(&links.body);
    let p = b
        .post(
            &format!("/links/{}/status?to=pause", s.link_id),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);

    // an API key logs in with its own scope
    let mut k = Browser::new(&app);
    let r = k.login(&[("api_key", &s.affiliate_key)]).await;
    assert_eq!(r.location.as_deref(), Some("/"));
    let links = k.get("/links").await;
    assert!(
        links.body.contains(&s.link_id) && !links.body.contains(other_link["id"].as_str().unwrap())
    );
    assert_eq!(k.get("/advertisers").await.status, StatusCode::FORBIDDEN);
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let links = a.get("/links").await;
    assert!(links.body.contains(other_link["id"].as_str().unwrap()));
}

#[tokio::test]
async fn failed_logins_are_limited_per_account_and_audited() {
    let app = TestApp::spawn().await;
    user(&app, "admin@example.com", "admin", None).await;
    let mut b = Browser::new(&app);
    for _ in 0..5 {
        let r = b
            .login(&[
                ("email", "admin@example.com"),
                ("password", "wrong password!"),
            ])
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
        assert!(r.body.contains("do not match an account"));
    }
    // the bucket is empty: even the right password waits
    let r = b
        .login(&[
            ("email", "admin@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert!(r.body.contains("Too many failed logins; try again in"));
    let (_, audit) = app.get("/api/v1/audit?action=login_failed").await;
    let items = audit["items"].as_array().unwrap();
    assert_eq!(items.len(), 5);
    assert_eq!(items[0]["entity_id"], "admin@example.com");
    assert_eq!(items[0]["after"]["detail"]["reason"], "wrong password");
    // another account from the same address is not locked out
    user(&app, "other@example.com", "admin", None).await;
    let r = b
        .login(&[
            ("email", "other@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn an_invitation_sets_the_password_once() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let inv = app
        .create("/api/v1/invitations", json!({"email": "new@example.com", "role": "advertiser", "partner_id": s.advertiser_id}))
        .await;
    let url = inv["url"].as_str().unwrap();
    let path = &url[url.find("/invite/").unwrap()..];
    let mut b = Browser::new(&app);
    // no password yet: no login
    let r = b
        .login(&[("email", "new@example.com"), ("password", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let form = b.get(path).await;
    assert_eq!(form.status, StatusCode::OK);
    assert!(form.body.contains("new@example.com"));
    let token = csrf_of(&form.body);
    let r = b
        .post(path, &[("csrf", &token), ("password", "short")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r
        .body
        .contains("password must be 10 to 1000 characters long"));
    let token = csrf_of(&r.body);
    let r = b
        .post(
            path,
            &[("csrf", &token), ("password", "a brand new password")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Password set"));
    // used: gone
    let again = b.get(path).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    let r = b
        .login(&[
            ("email", "new@example.com"),
            ("password", "a brand new password"),
        ])
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
    // a reset link, made by the admin, works the same way
    let id = inv["user"]["id"].as_str().unwrap();
    let (status, reset) = app
        .post(&format!("/api/v1/users/{id}/password-reset"), json!({}))
        .await;
    assert_eq!(status, StatusCode::OK, "{reset}");
    assert_eq!(reset["kind"], "reset");
    let r = b.get("/").await;
    assert_eq!(
        r.status,
        StatusCode::OK,
        "a reset link alone ends no session"
    );
    let url = reset["url"].as_str().unwrap();
    let path = &url[url.find("/invite/").unwrap()..];
    let mut other = Browser::new(&app);
    let form = other.get(path).await;
    let token = csrf_of(&form.body);
    let r = other
        .post(
            path,
            &[("csrf", &token), ("password", "the reset password")],
        )
        .await;
    assert!(r.body.contains("Password set"));
    // using it ended the session opened with the old password
    assert_eq!(b.get("/").await.location.as_deref(), Some("/login"));
}

#[tokio::test]
async fn pages_answer_fast_headers_and_assets_are_cached_for_long() {
    let app = TestApp::spawn().await;
    user(&app, "admin@example.com", "admin", None).await;
    let mut b = Browser::new(&app);
    b.login(&[
        ("email", "admin@example.com"),
        ("password", "correct horse battery"),
    ])
    .await;
    let home = b.get("/").await;
    let css = home
        .body
        .split("href=\"")
        .find(|s| s.contains("/style.css"))
        .unwrap();
    let css = css.split('"').next().unwrap();
    let r = app.client.get(app.url(css)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let htmx = css.replace("style.css", "vendor/htmx.min.js");
    let r = app.client.get(app.url(&htmx)).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.text().await.unwrap().contains("htmx"));
    // the dashboard's routes take no path of the API's
    let r = app
        .client
        .post(app.url("/api/v1/status"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert_eq!(r.headers()["content-type"], "application/json");
    let page = app.client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.headers()["cache-control"], "no-store");
    assert!(page.headers()["server-timing"]
        .to_str()
        .unwrap()
        .starts_with("app;dur="));
}

#[tokio::test]
async fn the_overview_and_the_postback_log_show_what_happened() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (cid, (status, v)) = registration(&app, &s, "t-1").await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let (status, _) = app
        .postback(&[
            ("token", &s.token),
            ("clikid", &cid),
            ("event", "registration"),
            ("txid", "t-2"),
        ])
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let mut b = Browser::new(&app);
    b.login(&[("api_key", ADMIN_KEY)]).await;
    let home = b.get("/").await;
    assert_eq!(home.status, StatusCode::OK);
    // the registration pays 2.00: today's payout card, with its currency
    let payout = &home.body[home.body.find("<h2>Payout</h2>").unwrap()..];
    assert!(
        payout.contains("<dd class=\"big up\">$2.00</dd>"),
        "{payout}"
    );
    assert!(home
        .body
        .contains("Failed postbacks in the last 24 hours: <strong>1</strong>"));
    let log = b.get("/postback-log?result=rejected").await;
    assert!(
        log.body
            .contains("<tr class=\"diff\"><td><code>clikid</code>"),
        "{}",
        log.body
    );
    assert!(log.body.contains("Missing: <code>click_id</code>"));
    assert!(!log.body.contains("t-1"), "only rejected entries");
    let found = b.get("/conversions?q=t-1").await;
    assert!(found.body.contains("$2.00") && found.body.contains(&cid));
    let by_click = b.get(&format!("/conversions?q={cid}")).await;
    assert!(by_click.body.contains("t-1"));
    let none = b.get("/conversions?q=nothing-like-it").await;
    assert!(none.body.contains("No conversions match."));
}

#[tokio::test]
async fn reports_conversions_and_the_ledger_keep_the_api_scope_and_messages() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let other_link = other_affiliates_link(&app, &s.offer_id).await;
    let mine = app.click_location(&s.link_id, "sub1=mine").await;
    let theirs = app
        .click_location(other_link["id"].as_str().unwrap(), "sub1=theirs")
        .await;
    let mut ids = Vec::new();
    for (loc, txid) in [(&mine, "t-mine"), (&theirs, "t-theirs")] {
        let cid = common::click_id_of(loc);
        let (_, v) = app
            .postback(&[
                ("token", &s.token),
                ("click_id", &cid),
                ("event", "registration"),
                ("txid", txid),
            ])
            .await;
        ids.push(v["conversion_id"].as_str().unwrap().to_string());
    }
    let mut b = affiliate_user(&app, &s.affiliate_id).await;
    let r = b.get("/reports?group_by=sub1").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        !r.body.contains("<th scope=\"col\">Profit</th>"),
        "an affiliate sees its earnings, not the network's profit"
    );
    let home = b.get("/").await;
    assert!(
        home.body.contains("<h2>Payout</h2>")
            && !home.body.contains("<h2>Profit</h2>")
            && !home.body.contains("<h2>Revenue</h2>")
    );
    assert!(
        r.body.contains("mine") && !r.body.contains("theirs"),
        "{}",
        r.body
    );
    let bad = b.get("/reports?group_by=weather").await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad
        .body
        .contains("id=\"filter-group_by-error\">group_by: `weather` is not one of"));
    let csv = b.get("/reports.csv?group_by=sub1").await;
    assert!(csv.body.starts_with("sub1,clicks"), "{}", csv.body);
    assert!(!csv.body.contains("theirs"));
    // its own conversion opens; the other affiliate's is not there for it
    assert_eq!(
        b.get(&format!("/conversions/{}", ids[0])).await.status,
        StatusCode::OK
    );
    let hidden = b.get(&format!("/conversions/{}", ids[1])).await;
    assert_eq!(hidden.status, StatusCode::NOT_FOUND);
    assert!(hidden
        .body
        .contains(&format!("no conversion with id `{}`", ids[1])));
    assert_eq!(b.get("/audit").await.status, StatusCode::FORBIDDEN);
    let ledger = b.get("/finance").await;
    assert!(ledger.body.contains("$2.00"), "{}", ledger.body);
    assert!(!ledger.body.contains("Add the entry"));

    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let page = a
        .get(&format!("/finance?affiliate={}", s.affiliate_id))
        .await;
    let token = csrf_of(&page.body);
    let r = a
        .post(
            &format!("/finance/{}", s.affiliate_id),
            &[("csrf", &token), ("kind", "payout"), ("amount", "5.00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"entry-amount-error\">amount: a payout of 5.00 USD is more than the 2.00 USD available"), "{}", r.body);
    let r = a
        .post(
            &format!("/finance/{}", s.affiliate_id),
            &[("csrf", &token), ("kind", "payout"), ("amount", "1.50")],
        )
        .await;
    assert!(
        r.body.contains("Payout recorded: -$1.50 in the ledger."),
        "{}",
        r.body
    );
    let audit = a.get("/audit?action=create").await;
    assert!(audit.body.contains(&s.link_id));
}

#[tokio::test]
async fn the_integration_check_the_link_builder_and_search_work_without_scripts() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let offer = a.get(&format!("/offers/{}", s.offer_id)).await;
    assert_eq!(offer.status, StatusCode::OK);
    let token = csrf_of(&offer.body);
    let r = a
        .post(
            &format!("/offers/{}/check", s.offer_id),
            &[("csrf", &token), ("amount", "10.00")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.body.matches("<li class=\"pass\">").count(),
        6,
        "{}",
        r.body
    );
    assert!(r.body.contains("flagged test"));
    let setup = a.get(&format!("/offers/{}/setup", s.offer_id)).await;
    assert!(setup.body.contains("postback"), "{}", setup.body);

    let built = a
        .get(&format!(
            "/links/{}?sub1=spring&source=news+letter&sub2=",
            s.link_id
        ))
        .await;
    assert!(
        built.body.contains(&format!(
            "<code>{}?sub1=spring&#38;source=news+letter</code>",
            s.link_url
        )),
        "{}",
        built.body
    );
    let plain = a.get(&format!("/links/{}", s.link_id)).await;
    assert!(plain.body.contains(&format!("<code>{}</code>", s.link_url)));

    let other = other_affiliates_link(&app, &s.offer_id).await;
    let found = a
        .get(&format!("/links?q={}", s.link_id.to_uppercase()))
        .await;
    assert!(found.body.contains(&s.link_id));
    assert!(
        !found.body.contains(other["id"].as_str().unwrap()),
        "search keeps matching rows only"
    );

    // a partner: its link's builder, not another's, and no check button
    let mut b = affiliate_user(&app, &s.affiliate_id).await;
    assert_eq!(
        b.get(&format!("/links/{}", s.link_id)).await.status,
        StatusCode::OK
    );
    let theirs = b
        .get(&format!("/links/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);
    let offer = b.get(&format!("/offers/{}", s.offer_id)).await;
    assert!(!offer.body.contains("Run the integration check"));
    let token = csrf_of(&offer.body);
    let r = b
        .post(
            &format!("/offers/{}/check", s.offer_id),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn partners_see_their_settings_and_an_advertiser_reconciles_its_report() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let cid = app.click(&s.link_id).await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "registration"),
        ("txid", "t-1"),
    ])
    .await;
    let mut b = partner_user(&app, "advertiser", &s.advertiser_id).await;
    let home = b.get("/").await;
    assert!(
        home.body
            .contains(&format!("href=\"/advertisers/{}\"", s.advertiser_id)),
        "a Settings link"
    );
    let mine = b.get(&format!("/advertisers/{}", s.advertiser_id)).await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(
        !mine.body.contains("Save the changes"),
        "no edit form for a partner"
    );
    let token = csrf_of(&mine.body);
    let today = jiff::Zoned::now().date();
    let r = b
        .post(
            &format!("/advertisers/{}/reconcile", s.advertiser_id),
            &[
                ("csrf", &token),
                ("from", &today.to_string()),
                ("to", &today.tomorrow().unwrap().to_string()),
                (
                    "csv",
                    "txid,amount,status\nt-1,,approved\nt-9,5.00,approved\n",
                ),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let here = &r.body[r.body.find("In their report, not recorded here").unwrap()..];
    assert!(here[..here.find("</table>").unwrap()].contains("t-9"));
    // another advertiser's page is not there for it
    let other = app
        .create("/api/v1/advertisers", json!({"name": "Other"}))
        .await;
    let theirs = b
        .get(&format!("/advertisers/{}", other["id"].as_str().unwrap()))
        .await;
    assert_eq!(theirs.status, StatusCode::NOT_FOUND);

    // an admin changes the affiliate's postback URL; the refusal names it
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let page = a.get(&format!("/affiliates/{}", s.affiliate_id)).await;
    let token = csrf_of(&page.body);
    let path = format!("/affiliates/{}", s.affiliate_id);
    let r = a
        .post(
            &path,
            &[
                ("csrf", &token),
                ("name", "Aff"),
                ("postback_url", "https://aff.example/pb?x={nope}"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("id=\"edit-postback_url-error\">postback_url: "),
        "{}",
        r.body
    );
    let r = a
        .post(
            &path,
            &[
                ("csrf", &token),
                ("name", "Aff"),
                ("postback_url", "https://aff.example/pb?cid={click_id}"),
            ],
        )
        .await;
    assert!(r.body.contains("Saved.") && r.body.contains("aff.example/pb?cid={click_id}"));
    let (_, v) = app
        .get(&format!("/api/v1/affiliates/{}", s.affiliate_id))
        .await;
    assert_eq!(v["postback_url"], "https://aff.example/pb?cid={click_id}");
}

#[tokio::test]
async fn an_offer_is_changed_through_its_form_and_a_ledger_downloads_as_csv() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let path = format!("/offers/{}", s.offer_id);
    let token = csrf_of(&a.get(&path).await.body);
    let r = a
        .post(
            &path,
            &[
                ("csrf", &token),
                ("name", "Renamed"),
                ("destination_url", "ftp://x"),
                ("fallback_url", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("id=\"edit-destination_url-error\">destination_url: "),
        "{}",
        r.body
    );
    let r = a
        .post(
            &path,
            &[
                ("csrf", &token),
                ("name", "Renamed"),
                ("destination_url", "https://adv.example/x?c={click_id}"),
                ("fallback_url", ""),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Saved.") && r.body.contains("Offer Renamed"));
    let (_, v) = app.get(&format!("/api/v1/offers/{}", s.offer_id)).await;
    assert_eq!(v["destination_url"], "https://adv.example/x?c={click_id}");
    let csv = a
        .get(&format!("/finance/{}/ledger.csv", s.affiliate_id))
        .await;
    assert_eq!(csv.status, StatusCode::OK);
    assert!(
        csv.body.lines().next().unwrap_or("").contains("amount"),
        "{}",
        csv.body
    );
}

#[tokio::test]
async fn an_outbound_postback_shows_with_its_attempts_and_versions_say_what_changed() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (status, _) = app
        .patch(
            &format!("/api/v1/affiliates/{}", s.affiliate_id),
            json!({"postback_url": "https://aff.invalid/pb?cid={click_id}"}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let cid = app.click(&s.link_id).await;
    app.postback(&[
        ("token", &s.token),
        ("click_id", &cid),
        ("event", "registration"),
        ("txid", "t-1"),
    ])
    .await;
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let list = a.get("/deliveries").await;
    let at = list
        .body
        .find("href=\"/deliveries/")
        .expect("a delivery row")
        + 6;
    let path = list.body[at..].split('"').next().unwrap().to_string();
    let one = a.get(&path).await;
    assert_eq!(one.status, StatusCode::OK);
    assert!(one.body.contains("aff.invalid/pb?cid="), "{}", one.body);
    assert!(one.body.contains("Every attempt"));
    let page = a.get(&format!("/affiliates/{}", s.affiliate_id)).await;
    assert!(
        page.body
            .contains("postback_url: (none) → https://aff.invalid/pb?cid={click_id}"),
        "{}",
        page.body
    );
    // another affiliate's user finds no such delivery
    let other = other_affiliates_link(&app, &s.offer_id).await;
    let (_, link) = app
        .get(&format!("/api/v1/links/{}", other["id"].as_str().unwrap()))
        .await;
    user(
        &app,
        "other@example.com",
        "affiliate",
        link["affiliate_id"].as_str(),
    )
    .await;
    let mut b = Browser::new(&app);
    b.login(&[
        ("email", "other@example.com"),
        ("password", "correct horse battery"),
    ])
    .await;
    assert_eq!(b.get(&path).await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn an_admin_changes_a_conversions_status_with_a_reason() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let (_, (_, v)) = registration(&app, &s, "t-1").await;
    let id = v["conversion_id"].as_str().unwrap().to_string();
    // the API: refusals name their field
    let path = format!("/api/v1/conversions/{id}/status");
    let (status, v) = app
        .post(&path, json!({"status": "reversed", "reason": " "}))
        .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(v["message"], "reason: say why, in 1 to 500 characters");
    let (_, v) = app
        .post(&path, json!({"status": "approvedd", "reason": "x"}))
        .await;
    assert_eq!(
        v["message"],
        "status: `approvedd` is not pending, approved, rejected or reversed"
    );
    let (_, v) = app
        .post(&path, json!({"status": "approved", "reason": "x"}))
        .await;
    assert_eq!(v["message"], "status: the conversion is approved already");
    // the page: the change goes through the state machine and is audited
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let page = a.get(&format!("/conversions/{id}")).await;
    let token = csrf_of(&page.body);
    let r = a
        .post(
            &format!("/conversions/{id}/status"),
            &[
                ("csrf", &token),
                ("status", "reversed"),
                ("reason", "chargeback from the bank"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body
            .contains("Status changed: status changed from approved to reversed"),
        "{}",
        r.body
    );
    let (_, c) = app.get("/api/v1/conversions?txid=t-1").await;
    assert_eq!(c["items"][0]["status"], "reversed");
    let (_, audit) = app
        .get("/api/v1/audit?action=change_conversion_status")
        .await;
    assert_eq!(
        audit["items"][0]["after"]["reason"],
        "chargeback from the bank"
    );
    assert_eq!(audit["items"][0]["before"]["status"], "approved");
    // reversed is final: the state machine's refusal, next to the field
    let r = a
        .post(
            &format!("/conversions/{id}/status"),
            &[("csrf", &token), ("status", "approved"), ("reason", "oops")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body.contains("id=\"status-status-error\">status: "),
        "{}",
        r.body
    );
}

#[tokio::test]
async fn a_disabled_user_is_logged_out_and_cannot_log_in() {
    let app = TestApp::spawn().await;
    let u = user(&app, "ann@example.com", "admin", None).await;
    let mut ann = Browser::new(&app);
    ann.login(&[
        ("email", "ann@example.com"),
        ("password", "correct horse battery"),
    ])
    .await;
    assert_eq!(ann.get("/").await.status, StatusCode::OK);
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let token = csrf_of(&a.get("/users").await.body);
    let id = u["id"].as_str().unwrap();
    let r = a
        .post(&format!("/users/{id}/disable"), &[("csrf", &token)])
        .await;
    assert!(
        r.body.contains("ann@example.com is disabled now."),
        "{}",
        r.body
    );
    assert_eq!(ann.get("/").await.location.as_deref(), Some("/login"));
    let r = ann
        .login(&[
            ("email", "ann@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    let r = a
        .post(&format!("/users/{id}/enable"), &[("csrf", &token)])
        .await;
    assert!(r.body.contains("ann@example.com is enabled now."));
    let r = ann
        .login(&[
            ("email", "ann@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(r.location.as_deref(), Some("/"));
}

#[tokio::test]
async fn sessions_past_their_idle_or_absolute_expiry_send_the_browser_to_login() {
    use clickledger_store::Session;
    let app = TestApp::spawn().await;
    let u = user(&app, "ann@example.com", "admin", None).await;
    let now = clickledger_server::util::now_ms();
    let policy = clickledger_domain::session::SessionPolicy::default();
    // stored as a login at those times would have stored them
    let cases = [
        ("fresh", now - 1_000, now - 1_000, true),
        (
            "idle",
            now - policy.idle_ms - 60_000,
            now - policy.idle_ms - 1_000,
            false,
        ),
        (
            "absolute",
            now - policy.absolute_ms - 1_000,
            now - 1_000,
            false,
        ),
    ];
    for (name, created, seen, live) in cases {
        let id = format!("{name}-session-id-of-the-test-0123456789");
        app.store
            .put_session(&Session {
                id_hash: clickledger_server::util::sha256_hex(&id),
                user_id: Some(u["id"].as_str().unwrap().to_string()),
                key_hash: None,
                csrf: "c".into(),
                created_ms: created,
                last_seen_ms: seen,
            })
            .await
            .unwrap();
        let mut b = Browser::new(&app);
        b.cookies.push(("cl_session".into(), id.clone()));
        let r = b.get("/").await;
        if live {
            assert_eq!(r.status, StatusCode::OK, "{name}");
        } else {
            assert_eq!(r.location.as_deref(), Some("/login"), "{name}");
            let gone = app
                .store
                .session(&clickledger_server::util::sha256_hex(&id))
                .await
                .unwrap();
            assert!(gone.is_none(), "{name}: an expired session is deleted");
        }
    }
}

#[tokio::test]
async fn an_unknown_page_answers_the_dashboards_404_and_api_clients_keep_json() {
    let app = TestApp::spawn().await;
    user(&app, "ann@example.com", "admin", None).await;
    let page = |path: &str| {
        app.client
            .get(app.url(path))
            .header("accept", "text/html,application/xhtml+xml,*/*;q=0.8")
    };
    // without a session: the layout without navigation, a way to log in
    let r = page("/no-such-page").send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    assert_eq!(r.headers()["x-frame-options"], "DENY");
    let body = r.text().await.unwrap();
    assert!(body.contains("<h1>Page not found</h1>"), "{body}");
    assert!(
        body.contains("There is no page at /no-such-page."),
        "{body}"
    );
    assert!(body.contains("Skip to content") && body.contains("href=\"/login\""));
    // with one: the same page with the viewer's navigation
    let mut b = Browser::new(&app);
    let login = b
        .login(&[
            ("email", "ann@example.com"),
            ("password", "correct horse battery"),
        ])
        .await;
    assert_eq!(login.status, StatusCode::SEE_OTHER);
    let req = page("/offers/x/nothing");
    let p = b.send(req).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("There is no page at /offers/x/nothing."));
    assert!(p.body.contains("<nav aria-label=\"Main\">") && p.body.contains("Log out"));
    // API clients, and browsers on the API's and the tracker's paths: JSON
    for (path, accept) in [
        ("/no-such-page", "application/json"),
        ("/no-such-page", "*/*"),
        ("/api/v1/nothing", "text/html"),
        ("/postbackx", "text/html"),
        ("/metrics/x", "text/html"),
    ] {
        let r = app
            .client
            .get(app.url(path))
            .header("accept", accept)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::NOT_FOUND, "{path}");
        let v: serde_json::Value = r.json().await.unwrap();
        assert_eq!(v["error"], "not_found", "{path} {accept}");
        assert_eq!(v["message"], "no such endpoint; see /api/v1/openapi.json");
    }
}

#[tokio::test]
async fn an_affiliate_sends_a_test_postback_from_its_settings_and_sees_the_answer() {
    // a receiver on loopback that answers every request the same way
    let hits = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let seen = hits.clone();
    let rx = axum::Router::new().fallback(move |uri: axum::http::Uri| {
        let seen = seen.clone();
        async move {
            seen.lock().unwrap().push(uri.to_string());
            (axum::http::StatusCode::ACCEPTED, "thanks from the receiver")
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let rx_addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, rx).await.unwrap() });
    let mut settings = clickledger_server::Settings::default();
    settings.delivery.allow_private = true;
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    let (st, _) = app
        .patch(
            &format!("/api/v1/affiliates/{}", s.affiliate_id),
            json!({"postback_url": format!("http://{rx_addr}/pb?cv={{conversion_id}}&st={{status}}")}),
        )
        .await;
    assert_eq!(st, StatusCode::OK);
    let mut b = affiliate_user(&app, &s.affiliate_id).await;
    let path = format!("/affiliates/{}", s.affiliate_id);
    let mine = b.get(&path).await;
    assert!(
        mine.body.contains("<h2>Send a test postback</h2>"),
        "{}",
        mine.body
    );
    // without the token nothing is sent
    let refused = b.post(&format!("{path}/test-postback"), &[]).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert!(hits.lock().unwrap().is_empty());
    let token = csrf_of(&mine.body);
    let r = b
        .post(&format!("{path}/test-postback"), &[("csrf", &token)])
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let sent = hits.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].starts_with("/pb?cv=cv_test-") && sent[0].ends_with("&st=approved"));
    assert!(
        r.body.contains("what was sent and what came back"),
        "{}",
        r.body
    );
    assert!(r
        .body
        .contains(&format!("GET http://{rx_addr}/pb?cv=cv_test-")));
    let text: String = r.body.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(
        text.contains("Answer </td> <td class=\"\"> HTTP 202 </td>"),
        "{text}"
    );
    assert!(text.contains("<td class=\"\"> thanks from the receiver </td>"));
    assert!(text.contains("Counts as delivered </td> <td class=\"\"> yes </td>"));
    assert!(r.body.contains("clickledger-test: true"));
    // another affiliate's test: as if it did not exist
    let other = other_affiliates_link(&app, &s.offer_id).await;
    let r = b
        .post(
            &format!(
                "/affiliates/{}/test-postback",
                other["affiliate_id"].as_str().unwrap()
            ),
            &[("csrf", &token)],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert_eq!(hits.lock().unwrap().len(), 1);
    // the audit log keeps it, by the user
    let (_, audit) = app.get("/api/v1/audit?action=test_postback").await;
    assert!(
        audit["items"][0]["key_id"]
            .as_str()
            .unwrap()
            .starts_with("user:"),
        "{audit}"
    );
}

#[tokio::test]
async fn reconciliation_and_conversion_import_take_a_csv_file() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    registration(&app, &s, "t-1").await;
    let mut b = partner_user(&app, "advertiser", &s.advertiser_id).await;
    let mine = b.get(&format!("/advertisers/{}", s.advertiser_id)).await;
    assert!(
        mine.body.contains("action=\"/advertisers/")
            && mine.body.contains("enctype=\"multipart/form-data\"")
            && mine.body.contains("type=\"file\""),
        "{}",
        mine.body
    );
    let token = csrf_of(&mine.body);
    let today = jiff::Zoned::now().date();
    let (from, to) = (today.to_string(), today.tomorrow().unwrap().to_string());
    // the file wins over an empty text field; a spreadsheet's BOM and CRLF are fine
    let r = b
        .post_multipart(
            &format!("/advertisers/{}/reconcile", s.advertiser_id),
            &[("csrf", &token), ("from", &from), ("to", &to), ("csv", "")],
            &[(
                "csv_file",
                "report.csv",
                "\u{feff}txid,amount,status\r\nt-1,,approved\r\nt-9,5.00,approved\r\n",
            )],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let here = &r.body[r.body.find("In their report, not recorded here").unwrap()..];
    let here = &here[..here.find("</table>").unwrap()];
    assert!(here.contains("t-9") && !here.contains("t-1"), "{here}");
    // a file the API refuses: its sentence next to the CSV field
    let r = b
        .post_multipart(
            &format!("/advertisers/{}/reconcile", s.advertiser_id),
            &[("csrf", &token), ("from", &from), ("to", &to)],
            &[("csv_file", "empty.csv", "")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(
        r.body.contains("id=\"reconcile-csv-error\">csv: "),
        "{}",
        r.body
    );
    // without the token: refused, multipart or not
    let r = b
        .post_multipart(
            &format!("/advertisers/{}/reconcile", s.advertiser_id),
            &[("from", &from), ("to", &to)],
            &[("csv_file", "r.csv", "txid,amount,status\n")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // the conversions page imports a file through the API's import
    let list = b.get("/conversions").await;
    assert!(list.body.contains("<h2>Import conversions from a CSV</h2>"));
    let token = csrf_of(&list.body);
    let unknown = clickledger_domain::ClickId::new(1_700_000_000_000, 1).encode();
    let fresh = app.click(&s.link_id).await;
    let csv = format!(
        "click_id,event,txid\r\n{fresh},registration,imp-1\r\n{unknown},registration,imp-2\r\n"
    );
    let r = b
        .post_multipart(
            "/conversions/import",
            &[("csrf", &token)],
            &[("csv_file", "conversions.csv", &csv)],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(
        r.body.contains("2 rows read: 1 accepted, 1 rejected."),
        "{}",
        r.body
    );
    assert!(r.body.contains("unknown_click_id"));
    let (_, v) = app.get("/api/v1/conversions?txid=imp-1").await;
    let conv = v["items"][0]["id"].as_str().unwrap();
    assert!(r.body.contains(&format!("href=\"/conversions/{conv}\"")));
    // pasted text works as before; an empty CSV is refused next to the field
    let r = b
        .post("/conversions/import", &[("csrf", &token), ("csv", "")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        r.body
            .contains("id=\"import-csv-error\">csv: the CSV is empty"),
        "{}",
        r.body
    );

    // affiliates have no import form, and the import refuses them
    let mut f = affiliate_user(&app, &s.affiliate_id).await;
    let list = f.get("/conversions").await;
    assert!(!list.body.contains("Import conversions"));
    let token = csrf_of(&list.body);
    let r = f
        .post("/conversions/import", &[("csrf", &token), ("csv", &csv)])
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert!(r
        .body
        .contains("an affiliate key cannot upload conversions"));
}

#[tokio::test]
async fn an_offers_events_and_caps_are_edited_as_json_with_the_apis_refusals_by_the_field() {
    let app = TestApp::spawn().await;
    let s = app.setup().await;
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let path = format!("/offers/{}", s.offer_id);
    let form = a.get(&path).await;
    // the textareas show the offer's events and caps as JSON
    assert!(form.body.contains("id=\"edit-events\""), "{}", form.body);
    assert!(
        form.body.contains("&#34;registration&#34;")
            || form.body.contains("&quot;registration&quot;")
    );
    assert!(form.body.contains("id=\"edit-caps\""));
    let token = csrf_of(&form.body);
    let post = |events: &'static str, caps: &'static str| {
        vec![
            ("name", "Offer"),
            ("destination_url", "https://adv.example/x?c={click_id}"),
            ("fallback_url", ""),
            ("events", events),
            ("caps", caps),
        ]
    };
    let send = |fields: Vec<(&'static str, &'static str)>| {
        let mut all = vec![("csrf", token.clone())];
        all.extend(fields.into_iter().map(|(k, v)| (k, v.to_string())));
        all
    };
    let refusals: [(&str, &str, &str); 4] = [
        ("[{\"name\": \"sale\"", "[]", "id=\"edit-events-error\">events: the JSON does not parse: "),
        (
            "[{\"name\": \"sale\", \"payout\": {\"type\": \"fixed\", \"amount\": \"lots\"}}]",
            "[]",
            "id=\"edit-events-error\">events[0].payout: invalid value: string &#34;lots&#34;, expected a decimal string such as &#34;2.00&#34;</p>",
        ),
        (
            "[{\"name\": \"sale\", \"payout\": {\"type\": \"fixed\", \"amount\": \"3.00\"}}]",
            "[{\"period\": \"fortnight\", \"metric\": \"conversions\", \"limit\": \"5\"}]",
            "id=\"edit-caps-error\">caps[0].period: ",
        ),
        ("[]", "", "id=\"edit-events-error\">events"),
    ];
    for (events, caps, error) in refusals {
        let fields: Vec<(&str, String)> = send(post(events, caps));
        let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = a.post(&path, &borrowed).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{events} {caps}"
        );
        assert!(r.body.contains(error), "{error}: {}", r.body);
    }
    let (_, before) = app.get(&format!("/api/v1/offers/{}", s.offer_id)).await;
    assert!(
        before["events"].to_string().contains("registration"),
        "nothing was saved: {before}"
    );
    let fields = send(post(
        "[{\"name\": \"sale\", \"payout\": {\"type\": \"fixed\", \"amount\": \"3.00\"}, \"repeatable\": true}]",
        "[{\"period\": \"day\", \"metric\": \"conversions\", \"limit\": \"5\"}]",
    ));
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = a.post(&path, &borrowed).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Saved."));
    let (_, v) = app.get(&format!("/api/v1/offers/{}", s.offer_id)).await;
    assert_eq!(v["events"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(v["events"][0]["name"], "sale");
    assert_eq!(v["events"][0]["payout"]["amount"], "3.00");
    assert_eq!(v["caps"][0]["period"], "day", "{v}");
    assert_eq!(v["caps"][0]["limit"], "5");
}

/// The deliveries page shows each destination's state; a disabled one has
/// the re-enable button, which makes it healthy again.
#[tokio::test]
async fn a_disabled_destination_shows_its_state_and_is_re_enabled_from_the_dashboard() {
    let mut settings = clickledger_server::Settings::default();
    settings.delivery.allow_private = true;
    settings.delivery.backoff = vec![std::time::Duration::from_millis(50); 5];
    settings.delivery.poll = std::time::Duration::from_millis(50);
    // disabled at the first failure: the window and the count are met at once
    settings.delivery.health = clickledger_domain::destination_health::HealthPolicy {
        failing_after: 1,
        probe_first_ms: 100,
        probe_max_ms: 100,
        disable_after_ms: 0,
        disable_min_failures: 1,
    };
    let app = TestApp::spawn_with(settings).await;
    let s = app.setup().await;
    // nothing listens on the discard port: the connection is refused
    app.patch(
        &format!("/api/v1/affiliates/{}", s.affiliate_id),
        json!({"postback_url": "http://127.0.0.1:9/pb?cid={click_id}"}),
    )
    .await;
    registration(&app, &s, "t-1").await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, d) = app.get("/api/v1/destinations").await;
        if d["items"][0]["state"] == "disabled" {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "not disabled: {d}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let page = a.get("/deliveries").await;
    let text = page.body.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(text.contains("Destinations&#39; health"), "{text}");
    assert!(
        text.contains(&format!(
            "<td class=\"paused\"> disabled <form class=\"inline\" method=\"post\" action=\"/destinations/{}/resume\">",
            s.affiliate_id
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("aria-label=\"Re-enable {}\"", s.affiliate_id)),
        "{text}"
    );
    assert!(text.contains("disabled after 1 failed attempts"), "{text}");
    let token = csrf_of(&page.body);
    let done = a
        .post(
            &format!("/destinations/{}/resume", s.affiliate_id),
            &[("csrf", token.as_str())],
        )
        .await;
    assert!(
        done.status.is_redirection() || done.status == StatusCode::OK,
        "{}",
        done.status
    );
    // (its job fails again at once, so the state itself may be back to
    // disabled: the event says a person re-enabled it)
    let (_, events) = app
        .get(&format!("/api/v1/destinations/{}/events", s.affiliate_id))
        .await;
    assert!(
        events["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "enabled"),
        "{events}"
    );
}

#[tokio::test]
async fn the_alerts_page_lists_alerts_and_adds_and_removes_hooks() {
    use clickledger_domain::alerts::Thresholds;
    use clickledger_server::alerts::evaluate::{evaluate, AlertSettings};
    use clickledger_server::util::now_ms;
    let app = TestApp::spawn_with(clickledger_server::Settings {
        alerts: AlertSettings {
            thresholds: Thresholds {
                spike_min_count: 5,
                ..Thresholds::default()
            },
            quiet_ms: 0,
            // the test evaluates, not the minute's timer
            every: std::time::Duration::from_secs(3600),
            digest_hour: None,
            ..AlertSettings::default()
        },
        ..clickledger_server::Settings::default()
    })
    .await;
    let s = app.setup().await;
    // a wave of click ids that were never issued opens a rejections spike
    for n in 0..6u128 {
        let id = clickledger_domain::ClickId::new(now_ms() as u64, 1000 + n).encode();
        let (status, _) = app
            .postback(&[("click_id", id.as_str()), ("token", s.token.as_str())])
            .await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
    evaluate(&app.running.as_ref().unwrap().state, now_ms() + 100)
        .await
        .unwrap();
    let subject = format!("advertiser:{}/unknown_click_id", s.advertiser_id);

    let mut a = Browser::new(&app);
    a.login(&[("api_key", ADMIN_KEY)]).await;
    let page = a.get("/alerts?state=open&kind=rejections_spike").await;
    assert_eq!(page.status, StatusCode::OK);
    let row = page
        .body
        .split("<tr>")
        .find(|r| r.contains(&subject))
        .unwrap_or_else(|| panic!("no row for {subject}: {}", page.body));
    assert!(
        row.contains("rejections_spike") && row.contains("open"),
        "{row}"
    );
    assert!(row.contains("unknown_click_id"), "{row}");
    assert!(page.body.contains("href=\"/alerts\""), "in the navigation");
    let resolved = a.get("/alerts?state=resolved").await;
    assert!(
        resolved.body.contains("No alerts match."),
        "{}",
        resolved.body
    );
    assert!(resolved.body.contains("No alert hooks yet."));

    // a hook is added through the form; its secret is shown this once
    let token = csrf_of(&page.body);
    let form = |url: &'static str, kinds: &'static str| {
        vec![
            ("csrf", token.clone()),
            ("url", url.to_string()),
            ("kinds", kinds.to_string()),
            ("format", "slack".to_string()),
        ]
    };
    let fields = form("https://hooks.example.com/cl", "rejections_spike, digest");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let done = a.post("/alerts/hooks", &pairs).await;
    assert_eq!(done.status, StatusCode::CREATED, "{}", done.body);
    let (_, hooks) = app.get("/api/v1/alert-hooks").await;
    let hook = &hooks["items"][0];
    assert_eq!(
        hook["kinds"],
        json!(["digest", "rejections_spike"]),
        "{hooks}"
    );
    assert_eq!(hook["format"], "slack");
    let id = hook["id"].as_str().unwrap().to_string();
    assert!(
        done.body.contains(&format!("Alert hook {id} added")) && done.body.contains("whsec_"),
        "{}",
        done.body
    );
    let listed = a.get("/alerts").await;
    assert!(listed.body.contains("https://hooks.example.com/cl"));
    assert!(!listed.body.contains("whsec_"), "the secret is shown once");
    // a kind that does not exist is refused, naming the field
    let fields = form("https://hooks.example.com/cl", "nope");
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = a.post("/alerts/hooks", &pairs).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.body.contains("kinds: `nope`"), "{}", refused.body);
    // and removed with its button
    assert!(listed
        .body
        .contains(&format!("action=\"/alerts/hooks/{id}/delete\"")));
    let gone = a
        .post(
            &format!("/alerts/hooks/{id}/delete"),
            &[("csrf", token.as_str())],
        )
        .await;
    assert!(gone.status.is_redirection(), "{}", gone.status);
    let (_, hooks) = app.get("/api/v1/alert-hooks").await;
    assert_eq!(hooks["items"], json!([]));

    // the affiliate sees its own alerts (none: this one is the
    // advertiser's) and no hooks
    let mut b = partner_user(&app, "affiliate", &s.affiliate_id).await;
    let page = b.get("/alerts").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains(&subject), "{}", page.body);
    assert!(!page.body.contains("Alert hooks"), "{}", page.body);
}
