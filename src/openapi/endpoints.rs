//! Every operation the server answers, as data: the one list the OpenAPI document
//! (`GET /api/openapi.json`) and the metrics' route labels are made from. The tests hold it to
//! the router both ways (`tests/api/docs.rs`): each operation here answers, no other method of
//! its path does, and every path the router's source declares is here.

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum M {
    Get,
    Post,
    Put,
    Delete,
}

impl M {
    pub fn as_str(self) -> &'static str {
        match self {
            M::Get => "GET",
            M::Post => "POST",
            M::Put => "PUT",
            M::Delete => "DELETE",
        }
    }
}

/// Who may call an operation, and how they prove it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Who {
    /// No credentials.
    Anyone,
    /// A registered user's token (visitors get 403).
    User,
    /// A user's or a visitor's token.
    Member,
    /// The `X-Security-Sign` header and the device fields (SPEC §1, visitors).
    Signed,
    /// The `X-Api-Key` header (server to server).
    ApiKey,
    /// A bearer token when `CHAT_METRICS_TOKEN` is set, else anyone.
    Scraper,
}

/// Where a parameter travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    Path,
    Query,
    /// In the body: JSON, a form or the query string (SPEC §0).
    Body,
    /// A part of a `multipart/form-data` body.
    Part,
    Header,
}

/// A parameter's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Int,
    Str,
    Bool,
    /// Integers: a JSON array, `a[]=1&a[]=2` or `1,2`.
    Ints,
    /// A JSON object, or its text.
    Object,
    File,
}

/// One parameter.
#[derive(Debug, Clone, Copy)]
pub struct Field {
    pub name: &'static str,
    pub at: At,
    pub ty: Ty,
    pub required: bool,
    pub about: &'static str,
}

/// What a success looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// `{"msg":"ok","data":…}` (failures `{"msg":"fail","data":"<reason>"}`).
    Envelope,
    /// A bare JSON value (the compact API, health).
    Bare,
    /// `image/png`.
    Png,
    /// Text (Prometheus exposition, HTML, the documentation's assets).
    Text,
    /// `101 Switching Protocols`.
    Upgrade,
}

/// One operation.
#[derive(Debug, Clone, Copy)]
pub struct Op {
    pub method: M,
    /// The OpenAPI path template (`{name}` for a path segment).
    pub path: &'static str,
    pub tag: &'static str,
    pub who: Who,
    pub summary: &'static str,
    pub params: &'static [Field],
    pub answer: Answer,
    /// What a success carries.
    pub ok: &'static str,
    /// Failures beyond the ones every operation of its kind has (401 with a token, 422 with
    /// parameters, 500).
    pub errors: &'static [(u16, &'static str)],
}

const fn f(name: &'static str, at: At, ty: Ty, required: bool, about: &'static str) -> Field {
    Field {
        name,
        at,
        ty,
        required,
        about,
    }
}
const fn body(name: &'static str, ty: Ty, about: &'static str) -> Field {
    f(name, At::Body, ty, true, about)
}
const fn opt(name: &'static str, ty: Ty, about: &'static str) -> Field {
    f(name, At::Body, ty, false, about)
}
const fn query(name: &'static str, ty: Ty, about: &'static str) -> Field {
    f(name, At::Query, ty, false, about)
}
const fn path(name: &'static str, ty: Ty, about: &'static str) -> Field {
    f(name, At::Path, ty, true, about)
}

use At::*;
use Ty::*;

const DEVICE: [Field; 3] = [
    f(
        "X-Security-Sign",
        Header,
        Str,
        true,
        "sha256_hex(\"deviceId=…&salt=…&timestamp=…\" + app secret)",
    ),
    body("deviceId", Str, "the device id, `^[\\w-]{36}$`"),
    body(
        "timestamp",
        Int,
        "ms, within 5 minutes of the server's clock",
    ),
];
const CHAT: Field = body("chatType", Str, "`single` or `group`");
const PAGE: Field = path("page", Int, "page number, from 1");

#[allow(clippy::too_many_arguments)] // one call per operation reads as a table row
const fn op(
    method: M,
    path: &'static str,
    tag: &'static str,
    who: Who,
    summary: &'static str,
    params: &'static [Field],
    ok: &'static str,
    errors: &'static [(u16, &'static str)],
) -> Op {
    Op {
        method,
        path,
        tag,
        who,
        summary,
        params,
        answer: Answer::Envelope,
        ok,
        errors,
    }
}

const fn bare(mut o: Op) -> Op {
    o.answer = Answer::Bare;
    o
}
const fn answer(mut o: Op, a: Answer) -> Op {
    o.answer = a;
    o
}

use Who::*;
use M::*;

/// Every operation, in the order the README lists the areas.
#[rustfmt::skip]
pub const OPS: &[Op] = &[
    // --- Accounts (SPEC §1) ---
    op(Post, "/api/regChat", "accounts", Anyone, "Register (and log in)",
        &[body("username", Str, "`^[A-Za-z0-9_]{4,20}$`"), body("password", Str, "6–20 characters")],
        "the user object and `token`", &[(400, "username taken"), (429, "too many registrations from this address")]),
    op(Post, "/api/loginChat", "accounts", Anyone, "Log in",
        &[body("username", Str, ""), body("password", Str, "")],
        "the user object and `token`", &[(400, "wrong username or password"), (429, "too many failures")]),
    op(Post, "/api/chat/logout", "accounts", Member, "Log out: the session is revoked", &[], "`true`", &[]),
    op(Post, "/api/chat/searchUser", "accounts", User, "Find users by username or nickname",
        &[body("keyword", Str, "1–50 characters")], "`[{id, username, avatar, role, uuid, nickname}]`, at most 50", &[]),
    op(Get, "/api/userinfo/{uuid}", "accounts", Anyone, "A user's public profile",
        &[path("uuid", Str, "the user's uuid")], "`{uuid, username, nickname, avatar, role, userinfo, userset}`", &[(404, "no such user")]),
    op(Post, "/api/chat/userset", "accounts", User, "Replace my settings",
        &[body("userset", Object, "a JSON object: `chatset` (who may message me), `presence` (0 hides it)")], "\"ok\"", &[]),
    op(Post, "/api/chat/updateUserinfo", "accounts", Member, "Change one profile field",
        &[body("fieldname", Str, "`nickname` (≤ 30), `avatar` (≤ 1000) or `invite_confirm` (0/1)"), opt("fieldValue", Str, "the new value")],
        "a confirmation text", &[(400, "a field that cannot be changed")]),
    op(Post, "/api/chat/setPassword", "accounts", User, "Change my password; other sessions are revoked",
        &[body("oldpassword", Str, ""), body("newpassword", Str, "6–20 characters"), body("checknewpassword", Str, "the same again")],
        "\"ok\"", &[(400, "wrong password or the two differ")]),
    op(Post, "/api/chat/getUserSetInfo", "accounts", User, "Another user's settings as they concern me",
        &[body("userid", Int, "a registered, active user")], "`{id, userset, invite_confirm, uuid, isgoodfriend, isgoodfriend_status}`", &[(400, "no such user")]),
    // --- Visitors (SPEC §1) ---
    op(Post, "/api/visitorRegister", "visitors", Signed, "Create or log in the device's visitor account",
        &[DEVICE[0], DEVICE[1], DEVICE[2], opt("uniplatform", Str, "2–50"), opt("devicemodel", Str, "1–50"), opt("deviceos", Str, "1–50"), opt("devicebrand", Str, "1–50")],
        "the user object and `token`", &[(400, "illegal access, illegal signature, request expired, invalid device id, or the device has a registered account"), (429, "more than 5 requests per device per hour")]),
    op(Post, "/api/visitorregChat", "visitors", Signed, "Register: the device's visitor account becomes a user (same id)",
        &[DEVICE[0], DEVICE[1], DEVICE[2], body("username", Str, "`^[A-Za-z0-9_]{4,20}$`"), body("password", Str, "6–20 characters")],
        "the user object and `token`", &[(400, "as visitorRegister, or username taken"), (429, "more than 5 requests per device per hour")]),
    op(Post, "/api/visitorloginChat", "visitors", Signed, "Log in from a signed device",
        &[DEVICE[0], DEVICE[1], DEVICE[2], body("username", Str, ""), body("password", Str, "")],
        "the user object and `token`", &[(400, "as visitorRegister, or wrong username or password"), (429, "more than 5 requests per device per hour")]),
    // --- Friends (SPEC §2) ---
    op(Post, "/api/chat/applyfriend", "friends", User, "Ask a user to be friends (at once when they accept anyone)",
        &[body("friend_id", Int, "the user"), opt("nickname", Str, "a note to them, 0–50")], "\"ok\"",
        &[(400, "myself, not a user, already friends, or already asked")]),
    op(Get, "/api/chat/listapplyfriend/{page}", "friends", User, "Applications sent to me, newest first",
        &[PAGE, query("limit", Int, "default 10")], "`{alldata, pendingCount}`", &[]),
    op(Post, "/api/chat/handleapply/{id}", "friends", User, "Answer an application sent to me",
        &[path("id", Int, "the application"), opt("nickname", Str, "my remark for them, 0–50"), body("status", Str, "`pending`, `refuse`, `agree` or `ignore`")],
        "\"ok\"", &[(400, "not pending"), (403, "not sent to me"), (404, "no such application")]),
    op(Get, "/api/chat/goodfriendlist/{page}", "friends", User, "My friends, grouped by initial",
        &[PAGE, query("limit", Int, "default 2000")], "`{count, rows: {newList, indexList, total}}`", &[]),
    op(Get, "/api/chat/getgoodfriendinfo/{id}", "friends", User, "My friendship with a user, and their profile",
        &[path("id", Int, "the friend's user id")], "my friendship row with `friendinfo`", &[(400, "not a friend")]),
    op(Post, "/api/chat/setblackgoodfriend/{id}", "friends", User, "Toggle blacklisting a friend",
        &[path("id", Int, "the friend's user id")], "\"ok\"", &[(400, "not a friend")]),
    op(Post, "/api/chat/setstargoodfriend/{id}", "friends", User, "Toggle starring a friend",
        &[path("id", Int, "the friend's user id")], "\"ok\"", &[(400, "not a friend")]),
    op(Post, "/api/chat/setmeOrfriendCanSee/{id}", "friends", User, "Set who sees whose moments",
        &[path("id", Int, "the friend's user id"), body("friendlookme", Int, "0/1"), body("melookfriend", Int, "0/1")], "\"ok\"", &[(400, "not a friend")]),
    op(Post, "/api/chat/ismygoodfriend/{id}", "friends", User, "My friendship row with a user",
        &[path("id", Int, "the user")], "the friendship row", &[(400, "not a friend")]),
    op(Post, "/api/chat/isApplyfriend/{uuid}", "friends", User, "The pending application from a user to me",
        &[path("uuid", Str, "the applicant's uuid")], "the application", &[(400, "none")]),
    op(Post, "/api/chat/deletegoodfriend/{id}", "friends", User, "Unfriend: both directions and pending applications go",
        &[path("id", Int, "the friend's user id")], "\"ok\"", &[(400, "not a friend")]),
    // --- Messages (SPEC §3, issue 19) ---
    op(Post, "/api/chat/socket/sendmessage", "messages", Member, "Send a message (stored before the answer)",
        &[body("sendto_id", Int, "the user or group"), CHAT, body("type", Str, "`text`, `image`, `audio`, `video`, `file`, `iconMenus`, … (1–30)"),
          body("data", Str, "the content, ≤ the configured size (64 KiB)"), opt("options", Object, "extra fields for clients"),
          opt("client_msg_id", Str, "≤ 100; a repeat returns the first message")],
        "the stored message (with `seq`)", &[(400, "not allowed to message them (blocked, not friends, not a member)"), (404, "no such user or group"), (429, "too many messages"), (507, "the server's storage is full: nothing was stored; try again later")]),
    op(Post, "/api/chat/chatGetmessageOffLine", "messages", Member, "Push my offline backlog to my connected sockets",
        &[], "\"ok\"", &[(400, "no connected socket")]),
    op(Get, "/api/chat/history", "messages", User, "One conversation, newest first",
        &[f("chatType", Query, Str, true, "`single` or `group`"), f("id", Query, Int, true, "the peer or the group"),
          query("before_seq", Int, "only messages below this seq"), query("limit", Int, "1–200, default 50")],
        "`{list, next_before_seq}`", &[(403, "not a member of the group")]),
    op(Get, "/api/chat/sync", "messages", User, "Everything addressed to me since a point, oldest first",
        &[query("since", Str, "a time in ms, or the `cursor` of an earlier answer"), query("limit", Int, "1–1000, default 200")],
        "`{list, cursor}`", &[]),
    op(Post, "/api/chat/revokeMessage", "messages", Member, "Revoke my message within 5 minutes",
        &[body("id", Str, "the message's uuid"), CHAT, opt("to_id", Int, "accepted, not trusted"), opt("to_name", Str, "accepted, not trusted"),
          opt("to_avatar", Str, "accepted, not trusted"), opt("create_time", Int, "accepted, not trusted")],
        "the revoke notice", &[(400, "too late"), (403, "not my message"), (404, "no such message")]),
    op(Post, "/api/chat/read", "messages", User, "Move my read position forward (readSync to my other devices, a receipt to the peer)",
        &[CHAT, body("id", Int, "the peer or the group"), body("seq", Int, "≥ 1; capped at the last message")],
        "`{chatType, id, read_seq}`", &[(403, "not a member of the group"), (404, "no such conversation")]),
    op(Get, "/api/chat/receipts", "messages", User, "How many members have read up to a seq, and who (≤ 500 members)",
        &[f("chatType", Query, Str, true, "`single` or `group`"), f("id", Query, Int, true, "the peer or the group"), f("seq", Query, Int, true, "≥ 1")],
        "`{chatType, id, seq, count, members, users}`", &[(403, "not a member of the group")]),
    op(Get, "/api/chat/conversations", "messages", User, "My conversations, newest activity first, with unread counts",
        &[query("limit", Int, "1–100, default 20"), query("cursor", Str, "`next_cursor` of the previous page")],
        "`{list: [{chatType, id, name, avatar, last_message, last_seq, read_seq, unread, unread_more, muted, update_time}], next_cursor}`", &[(400, "a cursor this server did not give")]),
    op(Post, "/api/chat/mute", "messages", User, "Mute or unmute a conversation (muteSync to my other devices)",
        &[CHAT, body("id", Int, "the peer or the group"), body("muted", Bool, "true or false")],
        "`{chatType, id, muted}`", &[(403, "not a member of the group"), (404, "no such user")]),
    op(Get, "/api/chat/presence", "messages", User, "Online and last seen, for my friends",
        &[f("ids", Query, Ints, true, "1–200 user ids, `1,2,3`")],
        "`{list: [{user_id, online, last_seen}]}`; null for anyone who is not a friend or hides it", &[(400, "no ids, or more than 200")]),
    // --- Groups (SPEC §4) ---
    op(Post, "/api/chat/group/create", "groups", User, "Create a group of my friends",
        &[body("userIds", Ints, "ids of my friends")], "the group with its members", &[(400, "none of them is a friend")]),
    op(Get, "/api/chat/grouplist/{page}", "groups", Member, "Groups I am an active member of",
        &[PAGE, query("limit", Int, "default 30")], "groups, each with my member row", &[]),
    op(Get, "/api/chat/groupinfo/{id}", "groups", Member, "A group with its active members",
        &[path("id", Int, "the group")], "the group", &[(404, "no such group")]),
    answer(op(Get, "/api/chat/groupQrcode/{id}", "groups", Member, "The group's QR code",
        &[path("id", Int, "the group"), query("type", Str, "`H5` for a link"), query("http", Str, "the link's http(s) origin"), query("chatType", Str, "`group`")],
        "a PNG", &[(403, "not a member"), (404, "no such group")]), Answer::Png),
    op(Post, "/api/chat/groupUpdateName", "groups", Member, "Rename the group (owner)",
        &[body("id", Int, "the group"), body("name", Str, "1–20")], "\"ok\"", &[(403, "not the owner")]),
    op(Post, "/api/chat/groupremark", "groups", Member, "Set the announcement (owner)",
        &[body("id", Int, "the group"), body("remark", Str, "1–500")], "\"ok\"", &[(403, "not the owner")]),
    op(Post, "/api/chat/groupnickname", "groups", Member, "Set my nickname in the group",
        &[body("id", Int, "the group"), body("nickname", Str, "1–20")], "\"ok\"", &[(403, "not a member")]),
    op(Post, "/api/chat/groupDeleteOrQuit", "groups", Member, "Leave the group; the owner dissolves it",
        &[body("id", Int, "the group")], "\"ok\"", &[(403, "not a member")]),
    op(Post, "/api/chat/groupDeleteUser", "groups", Member, "Remove a member (owner)",
        &[body("group_id", Int, "the group"), body("user_id", Int, "the member")], "\"ok\"", &[(400, "not a member, or myself"), (403, "not the owner")]),
    op(Post, "/api/chat/groupAddUserSet", "groups", Member, "Set who may join (owner)",
        &[body("group_id", Int, "the group"), body("addGroupSet", Int, "0 anyone, 1 owner approval, 2 like 1 and visitors log in first")], "\"ok\"", &[(403, "not the owner")]),
    op(Post, "/api/chat/groupInviteUser", "groups", Member, "Join, or invite someone",
        &[body("group_id", Int, "the group"), body("user_id", Int, "me to join, or the invitee"), opt("addGroupDesc", Str, "a note, 0–500"), opt("inviteuser_id", Int, "accepted, ignored: the inviter is the caller")],
        "\"joined\" or \"waiting for owner approval\"", &[(400, "already in the group, or waiting"), (403, "not a member (to invite)")]),
    op(Post, "/api/chat/groupAgreeOrNo", "groups", Member, "Approve or refuse a pending member (owner)",
        &[body("group_id", Int, "the group"), body("user_id", Int, "the pending member"), body("type", Str, "`agree` or `no`")], "\"ok\"", &[(400, "not pending"), (403, "not the owner")]),
    // --- Files (SPEC §6) ---
    op(Post, "/api/chat/uploadStreamSingleToServerDiy/{diydir}", "files", Member, "Upload a file",
        &[path("diydir", Str, "`^[A-Za-z0-9_-]{1,50}$`"), f("file", Part, File, true, "the file: images, audio, video or pdf by content")],
        "`{url}`", &[(413, "too large"), (415, "a type that is not allowed")]),
    answer(op(Post, "/api/chat/uploadAliyun", "files", Member, "Upload an image to the object store (seed 002's answer)",
        &[f("img", Part, File, true, "the image"), f("imageClassId", Part, Int, false, "a class id")],
        "`{code: 200, msg, data: [{url, path, image_class_id, create_time}]}`", &[(413, "too large"), (415, "not an image")]), Answer::Bare),
    op(Post, "/api/chat/getVideoScreenshot", "files", Member, "A frame of an uploaded video",
        &[body("videoUrl", Str, "one of this server's uploads, or an allowed host"), opt("time", Int, "ms, default 20"), opt("width", Int, "px, default 260"), opt("format", Str, "`png` or `jpg`")],
        "`{base64, url, format, time, width}`", &[(400, "not an allowed video"), (503, "too many screenshots at once")]),
    answer(op(Get, "/public/uploads/{path}", "files", Anyone, "An uploaded file", &[path("path", Str, "the rest of the upload's URL")], "the file", &[(404, "no such file")]), Answer::Text),
    // --- The compact API (SPEC §5) ---
    answer(op(Get, "/ws", "realtime", Member, "The WebSocket (both dialects; frames: see the description above)",
        &[query("access_token", Str, "the token; opens the compact dialect"), query("token", Str, "the token; opens the rich dialect"), query("dialect", Str, "`rich` or `compact`, overriding"), query("presence", Bool, "`1`: send my friends' presence frames (rich)")],
        "101 Switching Protocols", &[(400, "not a WebSocket upgrade"), (503, "too many connections opening at once (none free within 10 s)")]), Answer::Upgrade),
    bare(op(Get, "/api/message", "compact", Member, "My offline messages, grouped by sender",
        &[query("sort", Str, "`asc` (default) or `desc`"), query("drop", Bool, "true (default): they count as delivered"), query("type", Str, "`all`, `unicast` or `multicast`")],
        "`[{id, messages: [compact frames]}]`", &[(400, "a bad value")])),
    bare(op(Post, "/api/group", "compact", Member, "Create a group of one (me, the manager)", &[body("name", Str, "the name")], "the group's id", &[])),
    bare(op(Get, "/api/group", "compact", Member, "My groups", &[query("detailed", Bool, "true (default): objects; false: ids")], "ids, or `[{id, name, managerId, usersId}]`", &[])),
    bare(op(Put, "/api/group/{groupId}", "compact", Member, "Rename a group (manager)", &[path("groupId", Int, "the group"), body("name", Str, "the name")], "nothing", &[(403, "not the manager")])),
    bare(op(Get, "/api/group/{groupId}", "compact", Member, "A group", &[path("groupId", Int, "the group")], "`{id, name, managerId, usersId}`", &[(403, "not a member")])),
    bare(op(Delete, "/api/group/{groupId}", "compact", Member, "Leave (the manager dissolves), or remove `userId` (manager)",
        &[path("groupId", Int, "the group"), query("userId", Int, "a member to remove")], "nothing", &[(403, "not a member, or not the manager")])),
    bare(op(Post, "/api/request", "compact", Member, "Invite a user into a group", &[body("groupId", Int, "the group"), body("userId", Int, "the invitee")], "nothing", &[(403, "not a member, or they are in already")])),
    bare(op(Get, "/api/request", "compact", Member, "Invitations to me", &[], "`[{id, groupName, groupId, userId, invitedBy}]`", &[])),
    bare(op(Delete, "/api/request/{requestId}", "compact", Member, "Decline an invitation", &[path("requestId", Int, "the invitation")], "nothing", &[(403, "not addressed to me")])),
    bare(op(Put, "/api/request/{requestId}", "compact", Member, "Accept an invitation: I join", &[path("requestId", Int, "the invitation")], "nothing", &[(403, "not addressed to me")])),
    bare(op(Post, "/notification", "compact", ApiKey, "Push a notification (server to server)",
        &[f("X-Api-Key", Header, Str, true, "the configured notification key"), query("from", Int, "the sender (required for broadcast)"),
          query("type", Str, "`unicast` (default), `multicast` or `broadcast`"), query("to", Int, "the user or group"),
          body("notificationType", Str, "the client's kind"), body("content", Object, "what clients get")],
        "nothing", &[(403, "a malformed request or a wrong key"), (404, "no key configured")])),
    // --- Operations (SPEC §8) ---
    bare(op(Get, "/healthz", "operations", Anyone, "The process answers", &[], "`{status: \"ok\"}`", &[])),
    bare(op(Get, "/readyz", "operations", Anyone, "The database answers and can write (and Redis answers)", &[], "`{status: \"ready\", cluster?}`", &[(503, "a dependency is down, or the store cannot write (`reason: \"storage full\"`)")])),
    answer(op(Get, "/metrics", "operations", Scraper, "Prometheus metrics", &[], "the text exposition format", &[(401, "a token is set and this is not it")]), Answer::Text),
    bare(op(Get, "/api/openapi.json", "operations", Anyone, "This document", &[], "OpenAPI 3.1", &[])),
    answer(op(Get, "/api/docs", "operations", Anyone, "The browsable documentation (served by this server, offline)", &[], "HTML", &[]), Answer::Text),
    answer(op(Get, "/app", "operations", Anyone, "The web client (redirects to /app/)", &[], "HTML", &[]), Answer::Text),
    answer(op(Get, "/app/{file}", "operations", Anyone, "The web client's files (index.html, app.js, style.css)", &[path("file", Str, "a file")], "the file", &[(404, "no such file")]), Answer::Text),
    answer(op(Get, "/api/docs/{file}", "operations", Anyone, "The documentation page's assets", &[path("file", Str, "an asset")], "the asset", &[(404, "no such asset")]), Answer::Text),
];

/// The route templates of [`OPS`], `{}` standing for a path segment (metrics labels), once each.
pub fn templates() -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for op in OPS {
        let t: Vec<&str> = op
            .path
            .split('/')
            .map(|s| if s.starts_with('{') { "{}" } else { s })
            .collect();
        let t = t.join("/");
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}
