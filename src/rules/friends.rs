//! Friend-list grouping (SPEC §2): by the upper-case first letter of the display name, Chinese
//! names by their pinyin initial (好友 → H), anything else under `#`, which comes last.

use pinyin::ToPinyin;

/// The index letter of a display name.
pub fn initial(name: &str) -> String {
    let Some(c) = name.trim().chars().next() else {
        return "#".into();
    };
    if c.is_ascii_alphabetic() {
        return c.to_ascii_uppercase().to_string();
    }
    match c.to_pinyin() {
        Some(p) => p.first_letter().to_ascii_uppercase(),
        None => "#".into(),
    }
}

/// Groups `(display name, item)` pairs under their initials: A–Z in order, then `#`. Items keep
/// their order within a group.
pub fn group_by_initial<T>(items: Vec<(String, T)>) -> Vec<(String, Vec<T>)> {
    let mut groups: Vec<(String, Vec<T>)> = Vec::new();
    for (name, item) in items {
        let key = initial(&name);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, list)) => list.push(item),
            None => groups.push((key, vec![item])),
        }
    }
    groups.sort_by(|(a, _), (b, _)| match (a.as_str(), b.as_str()) {
        ("#", "#") => std::cmp::Ordering::Equal,
        ("#", _) => std::cmp::Ordering::Greater,
        (_, "#") => std::cmp::Ordering::Less,
        _ => a.cmp(b),
    });
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials() {
        assert_eq!(initial("好友"), "H");
        assert_eq!(initial("zoe"), "Z");
        assert_eq!(initial("123"), "#");
        assert_eq!(initial(""), "#");
        assert_eq!(initial("魂牵一梦"), "H");
        assert_eq!(initial("😀"), "#");
    }

    #[test]
    fn groups_in_order_with_hash_last() {
        let g = group_by_initial(vec![
            ("123".to_string(), 1),
            ("Zoe".to_string(), 2),
            ("好友".to_string(), 3),
            ("alice".to_string(), 4),
            ("Hank".to_string(), 5),
        ]);
        let keys: Vec<&str> = g.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, vec!["A", "H", "Z", "#"]);
        assert_eq!(g[1].1, vec![3, 5]);
    }
}
