# Latchkey en español (tuteo). Fuente: ../en/latchkey.ftl

## Común
back-to-login = Volver a iniciar sesión
back-to-start = Volver al inicio
expired-form = Este formulario caducó o viene de otro sitio. Inténtalo de nuevo.
too-many = Demasiados intentos fallidos. Vuelve a intentarlo dentro de { $wait } o restablece tu contraseña.
wait-minutes = { $count ->
    [one] un minuto
   *[other] { $count } minutos
}
wait-hours = { $count ->
    [one] una hora
   *[other] { $count } horas
}
lifetime-days = { $count ->
    [one] 1 día
   *[other] { $count } días
}
lifetime-hours = { $count ->
    [one] 1 hora
   *[other] { $count } horas
}
lifetime-minutes = { $count ->
    [one] 1 minuto
   *[other] { $count } minutos
}
lifetime-seconds = { $count ->
    [one] 1 segundo
   *[other] { $count } segundos
}
rules-length = Tener al menos { $count } caracteres
rules-similar = No parecerse a tu nombre de usuario ni a tu correo electrónico
rules-common = No ser una contraseña habitual ni tener solo números
field-new-password = Contraseña nueva
field-new-password-again = Repite la contraseña nueva

## Iniciar sesión
login-title = Iniciar sesión
login-username = Usuario o correo electrónico
login-password = Contraseña
login-submit = Iniciar sesión
login-forgot = ¿Olvidaste tu contraseña?
login-wrong = El usuario o la contraseña no son correctos. Revisa ambos y vuelve a intentarlo.

## Contraseña olvidada
forgot-title = ¿Olvidaste tu contraseña?
forgot-intro-email = Escribe la dirección de correo de tu cuenta y te enviaremos un enlace para elegir una contraseña nueva.
forgot-intro-username = Escribe el nombre de usuario de tu cuenta y enviaremos un enlace para elegir una contraseña nueva a la dirección de correo de la cuenta.
forgot-email = Correo electrónico
forgot-username = Nombre de usuario
forgot-submit = Enviar el enlace
inbox-title = Revisa tu bandeja de entrada
inbox-sent-email = Si alguna cuenta usa esa dirección, va en camino un enlace para elegir una contraseña nueva. Funciona una sola vez y caduca en { $lifetime }.
inbox-sent-username = Si existe una cuenta con ese nombre de usuario, va en camino a su dirección de correo un enlace para elegir una contraseña nueva. Funciona una sola vez y caduca en { $lifetime }.
inbox-nothing = ¿No ha llegado nada después de unos minutos? Mira en la carpeta de spam.
inbox-ask-again = Pedirlo de nuevo

## El enlace y su formulario
reset-title = Elige una contraseña nueva
reset-for-account = Para la cuenta
reset-advice = Unas cuantas palabras sin relación entre sí forman una contraseña segura y fácil de recordar. Debe:
reset-submit = Guardar la contraseña nueva
done-title = Contraseña cambiada
done-text = Tu contraseña nueva ya está guardada y se cerraron todas las demás sesiones de tu cuenta.
done-login = Iniciar sesión
invalid-title = Este enlace no funciona
invalid-text = El enlace no es válido, ya se usó o caducó. Los enlaces para restablecer la contraseña funcionan una sola vez y durante un tiempo limitado.
invalid-again = Pedir un enlace nuevo

## Cuenta
account-title = Tu cuenta
account-username = Usuario
account-email = Correo electrónico
account-change = Cambiar tu contraseña
account-logout = Cerrar sesión
account-changed = Tu contraseña se cambió. Se cerraron todas las demás sesiones.
change-title = Cambiar tu contraseña
change-intro = Se cerrarán todas las demás sesiones de tu cuenta. La contraseña nueva debe:
change-current = Contraseña actual
change-submit = Cambiar la contraseña
back-to-account = Volver a tu cuenta

## Errores
error-form-title = Algo no estaba bien en el formulario
error-form-text = Vuelve atrás e inténtalo de nuevo.
error-address-title = Esta dirección no es válida
error-address-text = El enlace que seguiste está mal formado. Revísalo o empieza de nuevo desde la primera página.
error-expired-title = Este formulario caducó
error-expired-text = El formulario era demasiado antiguo o venía de otro sitio. Vuelve atrás, recarga la página e inténtalo de nuevo.
error-throttled-title = Demasiados intentos
error-throttled-text = Vuelve a intentarlo dentro de { $wait }.
error-unavailable-title = No disponible temporalmente
error-unavailable-text = { $product } no puede responder ahora mismo: su base de datos no está accesible o el servicio está muy ocupado. Inténtalo de nuevo en un momento.
error-internal-title = Algo salió mal
error-internal-text = No pudimos completar esta acción. Inténtalo de nuevo más tarde.
not-found-title = Página no encontrada
not-found-text = No hay ninguna página en esta dirección. Si seguiste un enlace de un correo, copia el enlace completo en la barra de direcciones; si no, empieza de nuevo desde la primera página.
not-found-start = Ir al inicio

## Fechas
datetime-format = { $day } de { $month } de { $year }, { $time } UTC
month-1 = enero
month-2 = febrero
month-3 = marzo
month-4 = abril
month-5 = mayo
month-6 = junio
month-7 = julio
month-8 = agosto
month-9 = septiembre
month-10 = octubre
month-11 = noviembre
month-12 = diciembre

## Mensajes de la API (traducciones de Django)
api-field-required = Este campo es obligatorio.
api-field-blank = Este campo no puede estar en blanco.
api-invalid-email = Introduzca una dirección de correo electrónico válida.
api-password-mismatch = Los dos campos de contraseñas no coinciden.
api-invalid-login = Usuario o contraseña no válidos
api-invalid-token = La contraseña de un solo uso introducida no es válida. Compruébala e inténtalo de nuevo.
api-too-similar-username = La contraseña es demasiado similar al nombre de usuario.
api-too-similar-email = La contraseña es demasiado similar a la dirección de correo electrónico.
api-too-short = { $count ->
    [one] La contraseña es demasiado corta. Debe contener al menos { $count } carácter.
   *[other] La contraseña es demasiado corta. Debe contener al menos { $count } caracteres.
}
api-too-long = La contraseña es demasiado larga.
api-too-common = Esta contraseña es demasiado común.
api-entirely-numeric = Esta contraseña es completamente numérica.
api-old-password = Su contraseña antigua es incorrecta. Por favor, vuelva a introducirla.
api-not-found = No encontrado.
api-no-credentials = Las credenciales de autenticación no se proveyeron.
api-invalid-bearer = Token inválido.
api-too-large = El cuerpo de la solicitud es demasiado grande.
api-throttled = La solicitud fue limitada. Estará disponible en { $count } segundos.

## Correos
mail-footer = Este mensaje lo envió automáticamente { $product }. Las respuestas no se leen.
mail-hello = Hola, { $username }:
mail-reset-subject = Restablece tu contraseña de { $product }
mail-reset-intro = Alguien, esperamos que tú, pidió restablecer la contraseña de tu cuenta de { $product }. Elige una nueva con el botón de abajo.
mail-reset-intro-text = Alguien, esperamos que tú, pidió restablecer la contraseña de tu cuenta de { $product }. Elige una nueva aquí:
mail-reset-button = Elegir una contraseña nueva
mail-reset-expiry = El enlace funciona una sola vez y caduca el { $expires_at } (dentro de { $lifetime }).
mail-reset-copy = Si el botón no funciona, copia esta dirección en tu navegador:
mail-reset-ignore = Si no lo pediste, ignora este mensaje: tu contraseña sigue igual.
mail-changed-subject = Se cambió tu contraseña de { $product }
mail-changed-text = La contraseña de tu cuenta se cambió el { $changed_at }. Se cerraron todas las demás sesiones.
mail-email-subject = Se cambió tu dirección de correo de { $product }
mail-email-text = Un administrador cambió la dirección de correo de tu cuenta el { $changed_at }. Esta dirección ya no recibirá mensajes sobre la cuenta, y cualquier enlace para restablecer la contraseña enviado aquí antes del cambio ya no funciona.
mail-email-advice = Si no lo pediste, ponte en contacto de inmediato con el administrador del sitio.
mail-changed-from = Desde
mail-changed-agent = Navegador o aplicación
mail-changed-secure = Si no fuiste tú, protege tu cuenta de inmediato: el botón de abajo cierra todas las sesiones, elimina la contraseña y te envía un enlace para elegir una nueva.
mail-changed-secure-text = Si no fuiste tú, protege tu cuenta de inmediato: este enlace cierra todas las sesiones, elimina la contraseña y te envía un enlace para elegir una nueva.
mail-wasnt-me = No fui yo
mail-reset-cancel = Para inutilizar el enlace de inmediato:
mail-reset-cancel-link = No lo pedí
account-sessions = Tus sesiones

## Security notices and devices
wasnt-title = Protege tu cuenta
wasnt-intro = Si no cambiaste tu contraseña, confírmalo abajo. Entonces:
wasnt-step-signout = cerraremos la sesión de todos los navegadores y aplicaciones de la cuenta,
wasnt-step-remove = eliminaremos la contraseña actual, para que nadie pueda entrar con ella,
wasnt-step-mail = te enviaremos un enlace para elegir una contraseña nueva.
wasnt-submit = No fui yo: proteger mi cuenta
wasnt-aside = Si cambiaste la contraseña tú, cierra esta página: no ha cambiado nada.
wasnt-done-title = Tu cuenta está protegida
wasnt-done-text = Se cerraron todas las sesiones y se eliminó la contraseña. Va en camino a la dirección de correo de la cuenta un enlace para elegir una contraseña nueva.
notice-invalid-text = El enlace no es válido, ya se usó o caducó. Estos enlaces funcionan una sola vez y durante un tiempo limitado.
notice-invalid-worried = ¿Te preocupa tu cuenta? Elige una contraseña nueva: así se cierran todas las demás sesiones.
notice-invalid-button = Elegir una contraseña nueva
cancel-title = Cancelar este restablecimiento
cancel-intro = ¿Otra persona pidió restablecer tu contraseña? Confírmalo abajo y el enlace del correo dejará de funcionar al instante. Tu contraseña sigue igual.
cancel-submit = No lo pedí: anular el enlace
cancel-aside = ¿Al final sí lo pediste? Usa el otro enlace del correo para elegir una contraseña nueva.
cancelled-title = Restablecimiento cancelado
cancelled-text = El enlace ya no funciona. Tu contraseña no ha cambiado.
sessions-title = Tus sesiones
sessions-intro = Navegadores y aplicaciones con la sesión iniciada en tu cuenta. Cierra las que no reconozcas y después cambia tu contraseña.
sessions-none = No hay otras sesiones.
sessions-this = Este navegador
sessions-signed-in = Sesión iniciada
sessions-last-used = Último uso
sessions-from = Desde
sessions-agent = Navegador o aplicación
sessions-end-current = Cerrar esta sesión (salir)
sessions-end = Cerrar esta sesión
sessions-ended = Se cerró la sesión.
sessions-already-ended = Esa sesión ya estaba cerrada.
sessions-browser = Sesión del navegador
sessions-app = Aplicación (token de API)
sessions-not-since = no desde que inició sesión
sessions-unknown = desconocido
