// @generated automatically by Diesel CLI.

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
