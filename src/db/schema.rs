// @generated automatically by Diesel CLI.

diesel::table! {
    api_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Text,
        password_stamp -> Int8,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
    }
}

diesel::table! {
    audit_events (id) {
        id -> Int8,
        user_id -> Nullable<Int8>,
        event -> Text,
        ip_address -> Nullable<Text>,
        created_at -> Timestamp,
        user_agent -> Nullable<Text>,
        detail -> Text,
        webhook_pending -> Bool,
    }
}

diesel::table! {
    email_outbox (id) {
        id -> Int8,
        kind -> Text,
        user_id -> Nullable<Int8>,
        recipient -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Text,
        message_id -> Text,
        state -> Text,
        attempts -> Int4,
        next_attempt_at -> Timestamp,
        lease_until -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        last_error -> Nullable<Text>,
        expires_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        sent_at -> Nullable<Timestamp>,
        language -> Nullable<Text>,
    }
}

diesel::table! {
    login_throttles (throttle_key) {
        throttle_key -> Text,
        window_start -> Timestamp,
        failures -> Int4,
    }
}

diesel::table! {
    password_reset_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        issued_by_admin -> Bool,
        failed_attempts -> Int4,
    }
}

diesel::table! {
    rate_limits (limit_key) {
        limit_key -> Text,
        tat -> Int8,
        granted -> Int4,
    }
}

diesel::table! {
    reset_requests (id) {
        id -> Int8,
        lookup_key -> Text,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        created_at -> Timestamp,
        language -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> Int8,
        key_hash -> Text,
        user_id -> Nullable<Int8>,
        state -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        device_id -> Nullable<Text>,
        ip_address -> Nullable<Text>,
        user_agent -> Nullable<Text>,
        last_used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    users (id) {
        id -> Int8,
        username -> Text,
        email -> Text,
        email_key -> Text,
        password_hash -> Nullable<Text>,
        is_active -> Bool,
        password_stamp -> Int8,
        password_changed_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        reset_window_start -> Nullable<Timestamp>,
        reset_window_count -> Int4,
        username_key -> Nullable<Text>,
        last_login -> Nullable<Timestamp>,
    }
}

diesel::table! {
    wasnt_me_tokens (id) {
        id -> Int8,
        user_id -> Int8,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
    }
}

diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(email_outbox -> users (user_id));
diesel::joinable!(password_reset_tokens -> users (user_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(wasnt_me_tokens -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(
    api_tokens,
    audit_events,
    email_outbox,
    login_throttles,
    password_reset_tokens,
    rate_limits,
    reset_requests,
    sessions,
    users,
    wasnt_me_tokens,
);
