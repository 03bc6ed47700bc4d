# Signing in, the second factor, first-run set-up.

signin = Sign in
signin-heading = Sign in to { $instance }
signin-notice = Notice
signin-no-admin = This hub has no administrator yet, so nobody can sign in. Whoever runs the server creates the first one: on the server, run
signin-no-admin-instance = (with --instance and this instance's name when the server hosts several) and open the one-time link it prints.
field-username = User name
field-password = Password
field-password-repeat = Repeat the password
field-email = E-mail
field-code = Code
field-app-code = Code from the app
field-new-password = New password
field-repeat-it = Repeat it
continue = Continue
cancel-sign-out = Cancel and sign out
save-continue = Save and continue
passwords-differ = The two passwords differ.
password-hint = At least { $min } characters. Long passphrases are best; common passwords and your own name are refused.

setup = First administrator
setup-heading = Create the first administrator
setup-intro = This one-time link sets up { $instance }. It works once and expires 24 hours after it was issued.
setup-button = Create administrator
setup-done = The administrator account is ready. Sign in with it now.
setup-link-invalid = This setup link is invalid, already used or expired. On the server, run `holdfast admin setup-link` for a new one.

code = Second factor
confirm-heading = Confirm it is you
code-hint-totp = Enter the 6-digit code from your authenticator app, or one of your recovery codes.
code-hint-email = We sent a 6-digit code to your e-mail address. It is valid for 10 minutes and only for this sign-in.
code-wrong = That code is not right or has expired.

enroll = Set up your authenticator app
enroll-intro = This instance requires an authenticator app as a second factor. Scan the code with the app (or type the key), then enter the 6-digit code it shows.
enroll-key = Key:
enroll-button = Turn on and continue
enroll-new-key = A new key was made: scan the new code.

verify-intro = Your account needs a second factor, and you have none yet. Before you set up an authenticator app, confirm that it is really you.
verify-emailed = We sent a 6-digit code to your e-mail address. It is valid for 10 minutes and only for this sign-in. If your administrator gave you an enrolment code, you can type that instead.
verify-admin-code = Type the enrolment code your administrator gave you. An administrator makes one on the Users page, or on the server with

recovery = Recovery codes
recovery-heading = Your recovery codes
recovery-warning = Each code works once if you lose your device. Store them offline now: they are not shown again.
recovery-stored = I have stored them — continue

newpassword = Choose a new password
newpassword-reason-set = Your password was set by an administrator or has expired. Choose a new one before you continue.
newpassword-reason = Choose a new password before you continue.
signin-invalid-username-long = A user name has at most 64 characters.
signin-invalid-password-long = A password has at most 256 characters.
