//! A small user-agent classifier: device type, OS, browser and known bots.
//! It reads a handful of well-known tokens; the goal is report dimensions,
//! not a full device database.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UserAgent {
    pub device: &'static str,
    pub os: &'static str,
    pub browser: &'static str,
    pub bot: bool,
}

const BOT_TOKENS: &[&str] = &[
    "bot",
    "crawl",
    "spider",
    "slurp",
    "curl/",
    "wget",
    "python-requests",
    "python-urllib",
    "go-http-client",
    "java/",
    "okhttp",
    "headlesschrome",
    "phantomjs",
    "facebookexternalhit",
    "whatsapp",
    "preview",
    "scrapy",
    "httpclient",
    "libwww",
    "axios/",
    "node-fetch",
    "lighthouse",
    "pingdom",
    "monitor",
];

pub fn parse(ua: &str) -> UserAgent {
    let l = ua.to_ascii_lowercase();
    let has = |t: &str| l.contains(t);
    let bot = l.is_empty() || BOT_TOKENS.iter().any(|t| has(t));
    let os = if has("windows") {
        "windows"
    } else if has("iphone") || has("ipad") || has("ipod") {
        "ios"
    } else if has("android") {
        "android"
    } else if has("cros") {
        "chromeos"
    } else if has("mac os x") || has("macintosh") {
        "macos"
    } else if has("linux") {
        "linux"
    } else {
        "other"
    };
    let device = if bot {
        "bot"
    } else if has("ipad") || has("tablet") || (has("android") && !has("mobile")) {
        "tablet"
    } else if has("mobi") || has("iphone") || has("ipod") || has("android") {
        "mobile"
    } else if l.is_empty() {
        "other"
    } else {
        "desktop"
    };
    let browser = if has("edg/") || has("edge/") {
        "edge"
    } else if has("opr/") || has("opera") {
        "opera"
    } else if has("samsungbrowser") {
        "samsung"
    } else if has("yabrowser") {
        "yandex"
    } else if has("firefox/") || has("fxios") {
        "firefox"
    } else if has("chrome/") || has("crios") {
        "chrome"
    } else if has("safari/") {
        "safari"
    } else {
        "other"
    };
    UserAgent {
        device,
        os,
        browser,
        bot,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_agents() {
        let cases = [
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "desktop", "windows", "chrome"),
            ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1", "mobile", "ios", "safari"),
            ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Mobile Safari/537.36", "mobile", "android", "chrome"),
            ("Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36", "tablet", "android", "chrome"),
            ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Version/17.0 Safari/604.1", "tablet", "ios", "safari"),
            ("Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0; rv:121.0) Gecko/20100101 Firefox/121.0", "desktop", "macos", "firefox"),
            ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 Edg/120.0", "desktop", "windows", "edge"),
            ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36 OPR/105.0", "desktop", "linux", "opera"),
        ];
        for (ua, device, os, browser) in cases {
            let p = parse(ua);
            assert_eq!(
                (p.device, p.os, p.browser, p.bot),
                (device, os, browser, false),
                "{ua}"
            );
        }
    }

    #[test]
    fn bots_are_flagged() {
        for ua in [
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "curl/8.4.0",
            "python-requests/2.31",
            "facebookexternalhit/1.1",
            "Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/120.0 Safari/537.36",
            "",
        ] {
            let p = parse(ua);
            assert!(p.bot, "{ua}");
            assert_eq!(p.device, "bot");
        }
    }
}
