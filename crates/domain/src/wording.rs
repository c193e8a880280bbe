//! How refusal messages say counts, articles and lists, in one place, so
//! every message reads as a sentence: "1 character", "an affiliate key",
//! "approved, pending or rejected".

/// `count` and the noun, pluralised: "1 character", "3 characters". The
/// plural adds "s" (or "es" after s, x, ch and sh), which covers the nouns
/// messages count.
pub fn count(n: u64, noun: &str) -> String {
    if n == 1 {
        return format!("1 {noun}");
    }
    let es = ["s", "x", "ch", "sh"].iter().any(|end| noun.ends_with(end));
    format!("{n} {noun}{}", if es { "es" } else { "s" })
}

/// The indefinite article for a word, with the word: "an affiliate",
/// "a link". By its first letter, which serves the words messages use (no
/// "hour" or "user" among them).
pub fn a(word: &str) -> String {
    let vowel = word
        .chars()
        .next()
        .is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {word}", if vowel { "an" } else { "a" })
}

/// The alternatives as a sentence: "a", "a or b", "a, b or c".
pub fn either<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "or")
}

/// The items as a sentence: "a", "a and b", "a, b and c".
pub fn all<S: AsRef<str>>(items: &[S]) -> String {
    join(items, "and")
}

fn join<S: AsRef<str>>(items: &[S], last: &str) -> String {
    match items {
        [] => String::new(),
        [one] => one.as_ref().to_string(),
        [init @ .., end] => {
            let init: Vec<&str> = init.iter().map(AsRef::as_ref).collect();
            format!("{} {last} {}", init.join(", "), end.as_ref())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_pluralised() {
        assert_eq!(count(1, "character"), "1 character");
        assert_eq!(count(0, "character"), "0 characters");
        assert_eq!(count(64, "byte"), "64 bytes");
        assert_eq!(count(2, "match"), "2 matches");
        assert_eq!(count(3, "prefix"), "3 prefixes");
    }

    #[test]
    fn articles_follow_the_first_letter() {
        assert_eq!(a("affiliate key"), "an affiliate key");
        assert_eq!(a("advertiser"), "an advertiser");
        assert_eq!(a("offer"), "an offer");
        assert_eq!(a("link"), "a link");
        assert_eq!(a("partner key"), "a partner key");
    }

    #[test]
    fn lists_read_as_sentences() {
        assert_eq!(either::<&str>(&[]), "");
        assert_eq!(either(&["a"]), "a");
        assert_eq!(either(&["a", "b"]), "a or b");
        assert_eq!(either(&["a", "b", "c"]), "a, b or c");
        assert_eq!(all(&["x", "y", "z"]), "x, y and z");
    }
}
