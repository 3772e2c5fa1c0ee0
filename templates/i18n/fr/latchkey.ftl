# Latchkey en français (vouvoiement). Source : ../en/latchkey.ftl

## Commun
back-to-login = Retour à la connexion
back-to-start = Retour à l’accueil
expired-form = Ce formulaire a expiré ou provient d’un autre site. Veuillez réessayer.
too-many = Trop de tentatives échouées. Réessayez dans { $wait } ou réinitialisez votre mot de passe.
wait-minutes = { $count ->
    [one] une minute
   *[other] { $count } minutes
}
wait-hours = { $count ->
    [one] une heure
   *[other] { $count } heures
}
lifetime-days = { $count ->
    [one] 1 jour
   *[other] { $count } jours
}
lifetime-hours = { $count ->
    [one] 1 heure
   *[other] { $count } heures
}
lifetime-minutes = { $count ->
    [one] 1 minute
   *[other] { $count } minutes
}
lifetime-seconds = { $count ->
    [one] 1 seconde
   *[other] { $count } secondes
}
rules-length = Au moins { $count } caractères
rules-similar = Pas trop proche de votre nom d’utilisateur ni de votre adresse e-mail
rules-common = Pas un mot de passe courant, et pas uniquement des chiffres
field-new-password = Nouveau mot de passe
field-new-password-again = Confirmez le nouveau mot de passe

## Connexion
login-title = Connexion
login-username = Nom d’utilisateur ou adresse e-mail
login-password = Mot de passe
login-submit = Se connecter
login-forgot = Mot de passe oublié ?
login-wrong = Nom d’utilisateur ou mot de passe incorrect. Vérifiez les deux et réessayez.

## Mot de passe oublié
forgot-title = Mot de passe oublié ?
forgot-intro-email = Saisissez l’adresse e-mail de votre compte : nous vous enverrons un lien pour choisir un nouveau mot de passe.
forgot-intro-username = Saisissez le nom d’utilisateur de votre compte : nous enverrons un lien pour choisir un nouveau mot de passe à l’adresse e-mail du compte.
forgot-email = Adresse e-mail
forgot-username = Nom d’utilisateur
forgot-submit = Envoyer le lien
inbox-title = Consultez votre boîte de réception
inbox-sent-email = Si un compte utilise cette adresse, un lien pour choisir un nouveau mot de passe est en route. Il ne fonctionne qu’une fois et expire dans { $lifetime }.
inbox-sent-username = Si un compte porte ce nom d’utilisateur, un lien pour choisir un nouveau mot de passe est en route vers son adresse e-mail. Il ne fonctionne qu’une fois et expire dans { $lifetime }.
inbox-nothing = Rien reçu après quelques minutes ? Regardez dans vos courriers indésirables.
inbox-ask-again = Redemander un lien

## Le lien et son formulaire
reset-title = Choisissez un nouveau mot de passe
reset-for-account = Pour le compte
reset-advice = Quelques mots sans rapport entre eux font un mot de passe solide et facile à retenir. Il doit respecter ces règles :
reset-submit = Enregistrer le nouveau mot de passe
done-title = Mot de passe modifié
done-text = Votre nouveau mot de passe est enregistré, et toutes les autres sessions de votre compte ont été déconnectées.
done-login = Se connecter
invalid-title = Ce lien ne fonctionne pas
invalid-text = Le lien n’est pas valide, a déjà servi ou a expiré. Les liens de réinitialisation ne fonctionnent qu’une fois, pendant une durée limitée.
invalid-again = Demander un nouveau lien

## Compte
account-title = Votre compte
account-username = Nom d’utilisateur
account-email = E-mail
account-change = Changer de mot de passe
account-logout = Se déconnecter
account-changed = Votre mot de passe a été modifié. Toutes les autres sessions ont été déconnectées.
change-title = Changer de mot de passe
change-intro = Toutes les autres sessions de votre compte seront déconnectées. Le nouveau mot de passe doit respecter ces règles :
change-current = Mot de passe actuel
change-submit = Changer le mot de passe
back-to-account = Retour à votre compte

## Erreurs
error-form-title = Le formulaire comportait une erreur
error-form-text = Revenez en arrière et réessayez.
error-address-title = Cette adresse n’est pas valide
error-address-text = Le lien que vous avez suivi est mal formé. Vérifiez-le, ou recommencez depuis la première page.
error-expired-title = Ce formulaire a expiré
error-expired-text = Le formulaire était trop ancien ou provenait d’un autre site. Revenez en arrière, rechargez la page et réessayez.
error-throttled-title = Trop de tentatives
error-throttled-text = Veuillez réessayer dans { $wait }.
error-unavailable-title = Service momentanément indisponible
error-unavailable-text = { $product } ne peut pas répondre pour le moment : sa base de données est injoignable ou le service est très sollicité. Réessayez dans un instant.
error-internal-title = Une erreur s’est produite
error-internal-text = Nous n’avons pas pu terminer l’opération. Veuillez réessayer plus tard.
not-found-title = Page introuvable
not-found-text = Il n’y a aucune page à cette adresse. Si vous avez suivi le lien d’un e-mail, copiez le lien entier dans la barre d’adresse ; sinon, recommencez depuis la première page.
not-found-start = Aller à l’accueil

## Dates
datetime-format = { $day } { $month } { $year } à { $time } UTC
month-1 = janvier
month-2 = février
month-3 = mars
month-4 = avril
month-5 = mai
month-6 = juin
month-7 = juillet
month-8 = août
month-9 = septembre
month-10 = octobre
month-11 = novembre
month-12 = décembre

## Messages de l’API (traductions de Django)
api-field-required = Ce champ est obligatoire.
api-field-blank = Ce champ ne peut être vide.
api-invalid-email = Saisissez une adresse e-mail valide.
api-password-mismatch = Les deux mots de passe ne correspondent pas.
api-invalid-login = Nom d’utilisateur ou mot de passe non valide
api-invalid-token = Le mot de passe à usage unique saisi n’est pas valide. Vérifiez-le et réessayez.
api-too-similar-username = Le mot de passe est trop semblable au nom d’utilisateur.
api-too-similar-email = Le mot de passe est trop semblable à l’adresse e-mail.
api-too-short = { $count ->
    [one] Ce mot de passe est trop court. Il doit contenir au minimum { $count } caractère.
   *[other] Ce mot de passe est trop court. Il doit contenir au minimum { $count } caractères.
}
api-too-long = Ce mot de passe est trop long.
api-too-common = Ce mot de passe est trop courant.
api-entirely-numeric = Ce mot de passe est entièrement numérique.
api-old-password = Votre ancien mot de passe est incorrect. Veuillez le rectifier.
api-not-found = Pas trouvé.
api-no-credentials = Informations d’authentification non fournies.
api-invalid-bearer = Jeton non valide.
api-too-large = Le corps de la requête est trop volumineux.
api-throttled = Requête ralentie. Réessayez dans { $count } secondes.

## E-mails
mail-footer = Ce message a été envoyé automatiquement par { $product }. Les réponses ne sont pas lues.
mail-hello = Bonjour { $username },
mail-reset-subject = Réinitialisez votre mot de passe { $product }
mail-reset-intro = Quelqu’un, vous sans doute, a demandé à réinitialiser le mot de passe de votre compte { $product }. Choisissez-en un nouveau avec le bouton ci-dessous.
mail-reset-intro-text = Quelqu’un, vous sans doute, a demandé à réinitialiser le mot de passe de votre compte { $product }. Choisissez-en un nouveau ici :
mail-reset-button = Choisir un nouveau mot de passe
mail-reset-expiry = Le lien ne fonctionne qu’une fois et expire le { $expires_at } (dans { $lifetime }).
mail-reset-copy = Si le bouton ne fonctionne pas, copiez cette adresse dans votre navigateur :
mail-reset-ignore = Si vous n’avez rien demandé, ignorez ce message : votre mot de passe reste inchangé.
mail-changed-subject = Votre mot de passe { $product } a été modifié
mail-changed-text = Le mot de passe de votre compte a été modifié le { $changed_at }. Toutes les autres sessions ont été déconnectées.
mail-email-subject = Votre adresse e-mail { $product } a été modifiée
mail-email-text = L’adresse e-mail de votre compte a été modifiée le { $changed_at } par un administrateur. Cette adresse ne recevra plus de messages concernant le compte, et tout lien de réinitialisation envoyé ici avant la modification ne fonctionne plus.
mail-email-advice = Si vous n’avez rien demandé, contactez immédiatement l’administrateur du site.
mail-changed-from = Depuis
mail-changed-agent = Navigateur ou application
mail-changed-secure = Si ce n’était pas vous, sécurisez votre compte tout de suite : le bouton ci-dessous déconnecte toutes les sessions, supprime le mot de passe et vous envoie un lien pour en choisir un nouveau.
mail-changed-secure-text = Si ce n’était pas vous, sécurisez votre compte tout de suite : ce lien déconnecte toutes les sessions, supprime le mot de passe et vous envoie un lien pour en choisir un nouveau.
mail-wasnt-me = Ce n’était pas moi
mail-reset-cancel = Pour rendre le lien inutilisable tout de suite :
mail-reset-cancel-link = Je n’ai rien demandé
account-sessions = Vos sessions

## Security notices and devices
wasnt-title = Sécuriser votre compte
wasnt-intro = Si vous n’avez pas changé votre mot de passe, confirmez ci-dessous. Nous allons alors :
wasnt-step-signout = déconnecter tous les navigateurs et applications du compte,
wasnt-step-remove = supprimer le mot de passe actuel, pour que personne ne puisse plus s’en servir,
wasnt-step-mail = vous envoyer un lien pour choisir un nouveau mot de passe.
wasnt-submit = Ce n’était pas moi : sécuriser mon compte
wasnt-aside = Si vous avez changé le mot de passe vous-même, fermez cette page : rien n’a changé.
wasnt-done-title = Votre compte est sécurisé
wasnt-done-text = Toutes les sessions ont été déconnectées et le mot de passe a été supprimé. Un lien pour choisir un nouveau mot de passe est en route vers l’adresse e-mail du compte.
notice-invalid-text = Le lien n’est pas valide, a déjà servi ou a expiré. Ces liens ne fonctionnent qu’une fois, pendant une durée limitée.
notice-invalid-worried = Inquiet pour votre compte ? Choisissez un nouveau mot de passe : cela déconnecte toutes les autres sessions.
notice-invalid-button = Choisir un nouveau mot de passe
cancel-title = Annuler cette réinitialisation
cancel-intro = Quelqu’un d’autre a demandé à réinitialiser votre mot de passe ? Confirmez ci-dessous et le lien reçu par e-mail cessera aussitôt de fonctionner. Votre mot de passe reste inchangé.
cancel-submit = Je n’ai rien demandé : annuler le lien
cancel-aside = Vous l’aviez demandé finalement ? Utilisez l’autre lien de l’e-mail pour choisir un nouveau mot de passe.
cancelled-title = Réinitialisation annulée
cancelled-text = Le lien ne fonctionne plus. Votre mot de passe n’a pas changé.
sessions-title = Vos sessions
sessions-intro = Les navigateurs et applications connectés à votre compte. Mettez fin à ceux que vous ne reconnaissez pas, puis changez de mot de passe.
sessions-none = Aucune autre session.
sessions-this = Ce navigateur
sessions-signed-in = Connexion
sessions-last-used = Dernière utilisation
sessions-from = Depuis
sessions-agent = Navigateur ou application
sessions-end-current = Mettre fin à cette session (se déconnecter)
sessions-end = Mettre fin à cette session
sessions-ended = La session a pris fin.
sessions-already-ended = Cette session avait déjà pris fin.
sessions-browser = Session de navigateur
sessions-app = Application (jeton d’API)
sessions-not-since = pas depuis la connexion
sessions-unknown = inconnu
