//! Tests of [`UserPositions`] and [`Tracks`]: positions move only as far as clients confirmed.

use super::*;

fn list(items: &[(&str, i64)]) -> Vec<(Arc<str>, i64)> {
    items.iter().map(|(c, s)| (Arc::from(*c), *s)).collect()
}

/// A socket's report: confirmed, lowest unconfirmed, first handed.
fn taken(confirmed: &[(&str, i64)], unconfirmed: &[(&str, i64)], first: &[(&str, i64)]) -> Taken {
    Taken {
        confirmed: list(confirmed),
        unconfirmed: list(unconfirmed),
        first: list(first),
    }
}

fn due(p: &UserPositions, open: Vec<Taken>, closed: Vec<Taken>) -> Vec<(String, i64)> {
    let mut d = p.due(open, closed);
    d.sort();
    d
}

fn pos(conv: &str, seq: i64) -> Pos {
    Pos {
        conv: Arc::from(conv),
        seq,
    }
}

#[test]
fn a_pong_confirms_what_was_handed_before_its_ping_only() {
    let mut t = Tracks::default();
    t.note(&pos("g:1", 4));
    t.note(&pos("g:1", 5));
    t.pinged();
    t.note(&pos("g:1", 6));
    let before = t.take();
    assert!(
        before.confirmed.is_empty(),
        "nothing confirmed before the pong"
    );
    assert_eq!(lookup(&before.unconfirmed, "g:1"), Some(4));
    t.ponged();
    let after = t.take();
    assert_eq!(lookup(&after.confirmed, "g:1"), Some(5));
    // 6 came after the ping: still unconfirmed.
    assert_eq!(lookup(&after.unconfirmed, "g:1"), Some(6));
    assert_eq!(lookup(&after.first, "g:1"), Some(4));
    // Reported once.
    assert!(t.take().confirmed.is_empty());
}

#[test]
fn a_message_arriving_late_below_the_ping_stays_unconfirmed() {
    // Across nodes a lower seq can arrive after a higher one.
    let mut t = Tracks::default();
    t.note(&pos("g:1", 7));
    t.pinged();
    t.note(&pos("g:1", 6));
    t.ponged();
    let r = t.take();
    assert_eq!(lookup(&r.confirmed, "g:1"), Some(7));
    assert_eq!(lookup(&r.unconfirmed, "g:1"), Some(6));
    let p = UserPositions::default();
    p.known(vec![]);
    assert_eq!(due(&p, vec![r], vec![]), [("g:1".to_string(), 5)]);
}

#[test]
fn an_ack_confirms_up_to_its_seq() {
    let mut t = Tracks::default();
    for s in 1..=10 {
        t.note(&pos("s:1:2", s));
    }
    t.acked("s:1:2", 6);
    let r = t.take();
    assert_eq!(lookup(&r.confirmed, "s:1:2"), Some(6));
    assert_eq!(lookup(&r.unconfirmed, "s:1:2"), Some(7));
    t.acked("s:1:2", 10);
    let r = t.take();
    assert_eq!(lookup(&r.confirmed, "s:1:2"), Some(10));
    assert!(r.unconfirmed.is_empty());
}

#[test]
fn nothing_moves_until_the_backlog_is_known_then_held_confirmations_follow() {
    let p = UserPositions::default();
    assert!(due(
        &p,
        vec![taken(&[("s:1:2", 5)], &[], &[("s:1:2", 5)])],
        vec![]
    )
    .is_empty());
    p.known(vec![]);
    // What was confirmed before the backlog was known was held, not dropped.
    assert_eq!(
        due(&p, vec![taken(&[], &[], &[("s:1:2", 5)])], vec![]),
        [("s:1:2".to_string(), 5)]
    );
    assert!(due(&p, vec![taken(&[], &[], &[])], vec![]).is_empty());
}

#[test]
fn nothing_moves_once_forgotten_until_known_again() {
    let p = UserPositions::default();
    p.known(vec![("g:1".to_string(), 2)]);
    // Held while behind, then forgotten with everything else.
    assert!(due(&p, vec![taken(&[("g:1", 3)], &[], &[("g:1", 3)])], vec![]).is_empty());
    p.forget();
    assert!(due(
        &p,
        vec![taken(&[("s:1:2", 4)], &[], &[("s:1:2", 4)])],
        vec![]
    )
    .is_empty());
    // Learned again: s:1:2 had nothing missing, g:1 still lacks 2.
    p.known(vec![("g:1".to_string(), 2)]);
    assert_eq!(
        due(
            &p,
            vec![taken(&[], &[], &[("g:1", 3), ("s:1:2", 4)])],
            vec![]
        ),
        [("s:1:2".to_string(), 4)]
    );
}

#[test]
fn a_position_stops_below_what_any_socket_has_not_confirmed() {
    let p = UserPositions::default();
    p.known(vec![]);
    // One device confirmed up to 9; another still holds 4 on unconfirmed.
    let d = due(
        &p,
        vec![
            taken(&[("g:1", 9)], &[], &[("g:1", 1)]),
            taken(&[("g:1", 3)], &[("g:1", 4)], &[("g:1", 1)]),
        ],
        vec![],
    );
    assert_eq!(d, [("g:1".to_string(), 3)]);
    // Once confirmed, the rest follows.
    assert_eq!(
        due(
            &p,
            vec![taken(&[], &[], &[]), taken(&[("g:1", 9)], &[], &[])],
            vec![]
        ),
        [("g:1".to_string(), 9)]
    );
}

#[test]
fn a_socket_that_ended_unconfirmed_holds_its_conversation_until_a_replay() {
    let p = UserPositions::default();
    p.known(vec![]);
    let d = due(
        &p,
        vec![],
        vec![taken(&[("g:1", 5)], &[("g:1", 6)], &[("g:1", 1)])],
    );
    assert_eq!(d, [("g:1".to_string(), 5)]);
    // A socket opened later (first handed 12) does not cover 6..11...
    assert!(due(&p, vec![taken(&[("g:1", 12)], &[], &[("g:1", 12)])], vec![]).is_empty());
    // ...other conversations move as usual...
    assert_eq!(
        due(
            &p,
            vec![taken(&[("s:1:2", 3)], &[], &[("g:1", 12), ("s:1:2", 3)])],
            vec![]
        ),
        [("s:1:2".to_string(), 3)]
    );
    // ...until a replay has handed the backlog over and the client confirmed it.
    let r = p.replay_begins();
    p.caught_up(&[], true, r);
    assert_eq!(
        due(&p, vec![taken(&[("g:1", 14)], &[], &[("g:1", 6)])], vec![]),
        [("g:1".to_string(), 14)]
    );
}

#[test]
fn a_socket_that_ended_is_covered_by_one_open_since_before() {
    let p = UserPositions::default();
    p.known(vec![]);
    // Two devices since seq 1; one drops with 6..9 unconfirmed, the other confirmed up to 9.
    let d = due(
        &p,
        vec![taken(&[("g:1", 9)], &[], &[("g:1", 1)])],
        vec![taken(&[("g:1", 5)], &[("g:1", 6)], &[("g:1", 1)])],
    );
    assert_eq!(d, [("g:1".to_string(), 9)]);
    // Not frozen: later confirmations move it.
    assert_eq!(
        due(&p, vec![taken(&[("g:1", 12)], &[], &[("g:1", 1)])], vec![]),
        [("g:1".to_string(), 12)]
    );
}

#[test]
fn a_backlog_at_connect_is_covered_when_the_socket_was_handed_it() {
    let p = UserPositions::default();
    // The probe saw messages above position 49 (one of them pushed live just after connect).
    p.known(vec![("g:1".to_string(), 50), ("g:2".to_string(), 40)]);
    let d = due(
        &p,
        vec![taken(
            &[("g:1", 52), ("g:2", 60)],
            &[],
            &[("g:1", 50), ("g:2", 55)],
        )],
        vec![],
    );
    // g:1 was handed from 50 on: it moves; g:2 lacks 40..54: it waits.
    assert_eq!(d, [("g:1".to_string(), 52)]);
    let r = p.replay_begins();
    p.caught_up(&[], true, r);
    // The confirmation held while behind follows once the replay handed the backlog over.
    assert_eq!(due(&p, vec![], vec![]), [("g:2".to_string(), 60)]);
}

#[test]
fn a_backlog_learned_before_a_replay_read_its_own_is_ignored() {
    let p = UserPositions::default();
    let (replays, forgets) = {
        let st = p.lock();
        (st.replays, st.forgets)
    };
    // The replay reads and hands everything over while the connect-time probe is in flight.
    let r = p.replay_begins();
    p.caught_up(&[], true, r);
    p.lock()
        .learned(replays, forgets, vec![("g:1".to_string(), 3)]);
    assert_eq!(
        due(&p, vec![taken(&[("g:1", 9)], &[], &[("g:1", 3)])], vec![]),
        [("g:1".to_string(), 9)]
    );
    // A probe after the forget of the positions is out of date too.
    let (replays, forgets) = {
        let st = p.lock();
        (st.replays, st.forgets)
    };
    p.forget();
    assert!(!p.lock().learned(replays, forgets, vec![]));
    assert!(due(&p, vec![taken(&[("g:1", 10)], &[], &[])], vec![]).is_empty());
}

#[test]
fn conversations_cut_by_the_cap_move_with_the_replay() {
    let p = UserPositions::default();
    p.known(vec![("g:1".to_string(), 1)]);
    let r = p.replay_begins();
    p.caught_up(&[("g:1".to_string(), 38)], false, r);
    assert_eq!(due(&p, vec![], vec![]), [("g:1".to_string(), 38)]);
}

#[test]
fn nothing_moves_until_other_nodes_know_of_the_latest_arrival() {
    let p = UserPositions::default();
    p.known(vec![]);
    let first = p.await_peers();
    // A replay does not open the gate: other nodes may still route without this one.
    let r = p.replay_begins();
    p.caught_up(&[], true, r);
    assert!(due(&p, vec![taken(&[("g:1", 5)], &[], &[])], vec![]).is_empty());
    // The user left and came back before the first arrival was acknowledged.
    let second = p.await_peers();
    p.confirmed(first, vec![]);
    assert!(due(&p, vec![taken(&[("g:1", 6)], &[], &[])], vec![]).is_empty());
    assert_eq!(p.awaiting_peers(), Some(second));
    // Confirmed after the second: what the backlog held then stays behind, the rest moves.
    p.confirmed(second, vec![("g:2".to_string(), 8)]);
    assert_eq!(
        due(
            &p,
            vec![taken(&[("g:1", 7), ("g:2", 9)], &[], &[("g:2", 9)])],
            vec![]
        ),
        [("g:1".to_string(), 7)]
    );
}

#[test]
fn failed_writes_are_tried_again() {
    let p = UserPositions::default();
    p.known(vec![]);
    let d = due(&p, vec![taken(&[("s:1:2", 4)], &[], &[])], vec![]);
    p.retry(d);
    assert_eq!(due(&p, vec![], vec![]), [("s:1:2".to_string(), 4)]);
}

#[test]
fn a_socket_of_many_conversations_keeps_only_the_pending_ones_past_a_few() {
    let mut t = Tracks::default();
    for g in 0..40 {
        t.note(&pos(&format!("g:{g}"), 1));
    }
    t.pinged();
    t.ponged();
    t.note(&pos("g:0", 2));
    let first = t.take();
    assert_eq!(first.confirmed.len(), 40, "all reported once");
    // Only g:0 has something pending: the rest are dropped.
    let next = t.take();
    assert_eq!(next.unconfirmed, list(&[("g:0", 2)]));
    assert_eq!(next.first, list(&[("g:0", 1)]));
}
