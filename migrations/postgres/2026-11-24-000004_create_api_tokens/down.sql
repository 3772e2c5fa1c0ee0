DROP TABLE login_throttles;
DROP TABLE api_tokens;
