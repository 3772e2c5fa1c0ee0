// @generated automatically by Diesel CLI.

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
    }
}

diesel::joinable!(email_outbox -> users (user_id));

diesel::allow_tables_to_appear_in_same_query!(email_outbox, users,);
