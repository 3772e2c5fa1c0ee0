# Latchkey's pages and mails, in English (the source). Every other catalogue has each of these
# messages (a test checks it). Arguments: { $name }.

## Shared
back-to-login = Back to log in
back-to-start = Back to the start
expired-form = This form expired or came from another site. Please try again.
too-many = Too many failed attempts. Try again in { $wait }, or reset your password.
wait-minutes = { $count ->
    [one] a minute
   *[other] { $count } minutes
}
wait-hours = { $count ->
    [one] an hour
   *[other] { $count } hours
}
lifetime-days = { $count ->
    [one] 1 day
   *[other] { $count } days
}
lifetime-hours = { $count ->
    [one] 1 hour
   *[other] { $count } hours
}
lifetime-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
lifetime-seconds = { $count ->
    [one] 1 second
   *[other] { $count } seconds
}
rules-length = At least { $count } characters
rules-similar = Not like your username or email address
rules-common = Not a commonly used password, and not only digits
field-new-password = New password
field-new-password-again = New password, again

## Log in
login-title = Log in
login-username = Username or email
login-password = Password
login-submit = Log in
login-forgot = Forgot your password?
login-wrong = That username or password is not right. Check both and try again.

## Forgot password
forgot-title = Forgot your password?
forgot-intro-email = Enter the email address of your account and we will send you a link to choose a new password.
forgot-intro-username = Enter the username of your account and we will send a link to choose a new password to the email address it uses.
forgot-email = Email address
forgot-username = Username
forgot-submit = Send the link
inbox-title = Check your inbox
inbox-sent-email = If an account uses that address, a link to choose a new password is on its way. It works once and expires in { $lifetime }.
inbox-sent-username = If an account has that username, a link to choose a new password is on its way to the email address it uses. It works once and expires in { $lifetime }.
inbox-nothing = Nothing arrived after a few minutes? Look in your spam folder.
inbox-ask-again = Ask again

## The reset link and its form
reset-title = Choose a new password
reset-for-account = For the account
reset-advice = A few unrelated words make a strong password that is easy to remember. It must be:
reset-submit = Set the new password
done-title = Password changed
done-text = Your new password is set, and every other session of your account was signed out.
done-login = Log in
invalid-title = This link does not work
invalid-text = The link is invalid, was already used, or has expired. Reset links work once, for a limited time.
invalid-again = Ask for a new link

## Account
account-title = Your account
account-username = Username
account-email = Email
account-change = Change your password
account-logout = Log out
account-changed = Your password was changed. Every other session was signed out.
change-title = Change your password
change-intro = Every other session of your account will be signed out. The new password must be:
change-current = Current password
change-submit = Change the password
back-to-account = Back to your account

## Failures
error-form-title = Something was wrong with the form
error-form-text = Please go back and try again.
error-address-title = This address is not valid
error-address-text = The link you followed is malformed. Please check it, or start again from the first page.
error-expired-title = This form has expired
error-expired-text = The form was too old or came from another site. Please go back, reload the page and try again.
error-throttled-title = Too many attempts
error-throttled-text = Please try again in { $wait }.
error-unavailable-title = Temporarily unavailable
error-unavailable-text = { $product } cannot answer right now: its database is out of reach or it is very busy. Please try again in a moment.
error-internal-title = Something went wrong
error-internal-text = We could not complete this. Please try again later.
not-found-title = Page not found
not-found-text = There is no page at this address. If you followed a link from an email, copy the whole link into the address bar; otherwise start again from the first page.
not-found-start = Go to the start

## Dates: { $day } { $month } { $year }, { $time } (24-hour, UTC)
datetime-format = { $day } { $month } { $year }, { $time } UTC
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December

## The API's messages (Django's wording), for pages and for LATCHKEY_API_LANGUAGE=negotiate
api-field-required = This field is required.
api-field-blank = This field may not be blank.
api-invalid-email = Enter a valid email address.
api-password-mismatch = The two password fields didn’t match.
api-invalid-login = Invalid username/password
api-invalid-token = The OTP password entered is not valid. Please check and try again.
api-too-similar-username = The password is too similar to the username.
api-too-similar-email = The password is too similar to the email address.
api-too-short = { $count ->
    [one] This password is too short. It must contain at least { $count } character.
   *[other] This password is too short. It must contain at least { $count } characters.
}
api-too-long = This password is too long.
api-too-common = This password is too common.
api-entirely-numeric = This password is entirely numeric.
api-old-password = Your old password was entered incorrectly. Please enter it again.
api-not-found = Not found.
api-no-credentials = Authentication credentials were not provided.
api-invalid-bearer = Invalid token.
api-too-large = Request body is too large.
api-throttled = Request was throttled. Expected available in { $count } seconds.

## Mails
mail-footer = This message was sent automatically by { $product }. Replies are not read.
mail-hello = Hello { $username },
mail-reset-subject = Reset your { $product } password
mail-reset-intro = Someone, hopefully you, asked to reset the password of your { $product } account. Choose a new one with the button below.
mail-reset-intro-text = Someone, hopefully you, asked to reset the password of your { $product } account. Choose a new one here:
mail-reset-button = Choose a new password
mail-reset-expiry = The link works once and expires at { $expires_at } (in { $lifetime }).
mail-reset-copy = If the button does not work, copy this address into your browser:
mail-reset-ignore = If you did not ask for this, ignore this message: your password stays as it is.
mail-changed-subject = Your { $product } password was changed
mail-changed-text = The password of your account was changed at { $changed_at }. Every other session was signed out.
mail-email-subject = Your { $product } email address was changed
mail-email-text = The email address of your account was changed at { $changed_at } by an administrator. This address will no longer receive mail about the account, and any password reset link sent to it before the change no longer works.
mail-email-advice = If you did not ask for this, contact the administrator of the site at once.
mail-changed-from = From
mail-changed-agent = Browser or app
mail-changed-secure = If this was not you, secure your account at once: the button below signs everyone out, removes the password and mails you a link to choose a new one.
mail-changed-secure-text = If this was not you, secure your account at once: this link signs everyone out, removes the password and mails you a link to choose a new one.
mail-wasnt-me = This wasn't me
mail-reset-cancel = To make the link unusable at once:
mail-reset-cancel-link = I did not ask for this
account-sessions = Your sessions

## Security notices and devices
wasnt-title = Secure your account
wasnt-intro = If you did not change your password, confirm below. We will then:
wasnt-step-signout = sign out every browser and app of the account,
wasnt-step-remove = remove the current password, so nobody can log in with it,
wasnt-step-mail = email you a link to choose a new password.
wasnt-submit = This wasn't me: secure my account
wasnt-aside = If you changed the password yourself, close this page: nothing has changed.
wasnt-done-title = Your account is secured
wasnt-done-text = Every session was signed out and the password was removed. A link to choose a new password is on its way to the account's email address.
notice-invalid-text = The link is invalid, was already used, or has expired. These links work once, for a limited time.
notice-invalid-worried = Worried about your account? Choose a new password: that signs out every other session.
notice-invalid-button = Choose a new password
cancel-title = Cancel this password reset
cancel-intro = Did someone else ask to reset your password? Confirm below and the emailed link stops working at once. Your password stays as it is.
cancel-submit = I did not ask for this: cancel the link
cancel-aside = Did you ask for it after all? Use the other link in the email to choose a new password.
cancelled-title = Password reset cancelled
cancelled-text = The link no longer works. Your password has not changed.
sessions-title = Your sessions
sessions-intro = Browsers and apps logged in to your account. End any you do not recognise, then change your password.
sessions-none = No other sessions.
sessions-this = This browser
sessions-signed-in = Signed in
sessions-last-used = Last used
sessions-from = From
sessions-agent = Browser or app
sessions-end-current = End this session (log out)
sessions-end = End this session
sessions-ended = The session was ended.
sessions-already-ended = That session had already ended.
sessions-browser = Browser session
sessions-app = App (API token)
sessions-not-since = not since signing in
sessions-unknown = unknown
