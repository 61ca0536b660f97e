//! Diesel table definitions, shared by both backends (the migrations keep them in step).

diesel::table! {
    users (id) {
        id -> BigInt,
        uuid -> Text,
        username -> Text,
        password -> Text,
        nickname -> Text,
        avatar -> Text,
        mobile -> Nullable<Text>,
        email -> Nullable<Text>,
        status -> Integer,
        last_login -> Nullable<BigInt>,
        last_login_ip -> Nullable<Text>,
        register_time -> BigInt,
        register_ip -> Nullable<Text>,
        is_deleted -> Integer,
        role -> Text,
        sort_order -> Integer,
        invite_confirm -> Integer,
        userset -> Text,
        device_id -> Nullable<Text>,
        uniplatform -> Nullable<Text>,
        devicemodel -> Nullable<Text>,
        deviceos -> Nullable<Text>,
        devicebrand -> Nullable<Text>,
        create_time -> BigInt,
        update_time -> BigInt,
        last_seen -> Nullable<BigInt>,
    }
}

diesel::table! {
    user_infos (id) {
        id -> BigInt,
        user_id -> BigInt,
        gender -> Text,
        birthday -> Nullable<Text>,
        bio -> Nullable<Text>,
        location -> Nullable<Text>,
        website -> Nullable<Text>,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    sessions (id) {
        id -> Text,
        user_id -> BigInt,
        role -> Text,
        create_time -> BigInt,
        expires_at -> BigInt,
    }
}

diesel::table! {
    friendships (id) {
        id -> BigInt,
        user_id -> BigInt,
        friend_id -> BigInt,
        nickname -> Text,
        friendlookme -> Integer,
        melookfriend -> Integer,
        ismystarfriend -> Integer,
        isblack -> Integer,
        status -> Integer,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    friend_applications (id) {
        id -> BigInt,
        user_id -> BigInt,
        friend_id -> BigInt,
        nickname -> Text,
        status -> Text,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    chat_groups (id) {
        id -> BigInt,
        uuid -> Text,
        user_id -> BigInt,
        name -> Text,
        avatar -> Text,
        remark -> Text,
        invite_confirm -> Integer,
        status -> Integer,
        sort_order -> Integer,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    group_members (id) {
        id -> BigInt,
        group_id -> BigInt,
        user_id -> BigInt,
        nickname -> Text,
        avatar -> Text,
        status -> Integer,
        sort_order -> Integer,
        invited_by -> Nullable<BigInt>,
        join_desc -> Nullable<Text>,
        joined_at -> BigInt,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    group_requests (id) {
        id -> BigInt,
        group_id -> BigInt,
        user_id -> BigInt,
        invited_by -> BigInt,
        status -> Text,
        create_time -> BigInt,
        update_time -> BigInt,
    }
}

diesel::table! {
    conversations (conv_key) {
        conv_key -> Text,
        last_seq -> BigInt,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        uuid -> Text,
        conv_key -> Text,
        seq -> BigInt,
        chat_type -> Text,
        msg_type -> Text,
        from_id -> BigInt,
        to_id -> BigInt,
        from_name -> Text,
        from_avatar -> Text,
        to_name -> Text,
        to_avatar -> Text,
        data -> Text,
        options -> Text,
        extra -> Nullable<Text>,
        client_msg_id -> Nullable<Text>,
        isremove -> Integer,
        create_time -> BigInt,
        private -> Integer,
    }
}

diesel::table! {
    conv_positions (user_id, conv_key) {
        user_id -> BigInt,
        conv_key -> Text,
        delivered_seq -> BigInt,
        read_seq -> BigInt,
        until_seq -> BigInt,
        peer_id -> BigInt,
        muted -> Integer,
    }
}

diesel::table! {
    message_audience (user_id, message_id) {
        user_id -> BigInt,
        message_id -> BigInt,
    }
}

diesel::table! {
    uploads (id) {
        id -> BigInt,
        user_id -> BigInt,
        kind -> Text,
        path -> Text,
        url -> Text,
        mime -> Text,
        size -> BigInt,
        image_class_id -> Nullable<BigInt>,
        create_time -> BigInt,
    }
}

diesel::table! {
    rate_limits (rl_key) {
        rl_key -> Text,
        window_start -> BigInt,
        hits -> BigInt,
    }
}

diesel::joinable!(user_infos -> users (user_id));
diesel::joinable!(group_members -> chat_groups (group_id));
diesel::joinable!(group_requests -> chat_groups (group_id));
diesel::allow_tables_to_appear_in_same_query!(
    users,
    user_infos,
    sessions,
    friendships,
    friend_applications,
    chat_groups,
    group_members,
    group_requests,
    conversations,
    messages,
    conv_positions,
    message_audience,
    uploads,
    rate_limits,
);
