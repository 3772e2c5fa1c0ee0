# Latchkey em português do Brasil (você). Fonte: ../en/latchkey.ftl

## Comum
back-to-login = Voltar para o login
back-to-start = Voltar ao início
expired-form = Este formulário expirou ou veio de outro site. Tente novamente.
too-many = Muitas tentativas sem sucesso. Tente novamente em { $wait } ou redefina sua senha.
wait-minutes = { $count ->
    [one] um minuto
   *[other] { $count } minutos
}
wait-hours = { $count ->
    [one] uma hora
   *[other] { $count } horas
}
lifetime-days = { $count ->
    [one] 1 dia
   *[other] { $count } dias
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
rules-length = Ter pelo menos { $count } caracteres
rules-similar = Não se parecer com seu nome de usuário nem com seu e-mail
rules-common = Não ser uma senha comum nem conter apenas números
field-new-password = Nova senha
field-new-password-again = Repita a nova senha

## Entrar
login-title = Entrar
login-username = Usuário ou e-mail
login-password = Senha
login-submit = Entrar
login-forgot = Esqueceu sua senha?
login-wrong = Usuário ou senha incorretos. Confira os dois e tente novamente.

## Esqueci a senha
forgot-title = Esqueceu sua senha?
forgot-intro-email = Digite o e-mail da sua conta e enviaremos um link para você escolher uma nova senha.
forgot-intro-username = Digite o nome de usuário da sua conta e enviaremos ao e-mail dela um link para escolher uma nova senha.
forgot-email = E-mail
forgot-username = Nome de usuário
forgot-submit = Enviar o link
inbox-title = Confira sua caixa de entrada
inbox-sent-email = Se alguma conta usa esse endereço, um link para escolher uma nova senha está a caminho. Ele funciona uma única vez e expira em { $lifetime }.
inbox-sent-username = Se existe uma conta com esse nome de usuário, um link para escolher uma nova senha está a caminho do e-mail dela. Ele funciona uma única vez e expira em { $lifetime }.
inbox-nothing = Nada chegou depois de alguns minutos? Confira a pasta de spam.
inbox-ask-again = Pedir de novo

## O link e o formulário
reset-title = Escolha uma nova senha
reset-for-account = Para a conta
reset-advice = Algumas palavras sem relação entre si formam uma senha forte e fácil de lembrar. Ela precisa:
reset-submit = Salvar a nova senha
done-title = Senha alterada
done-text = Sua nova senha foi salva, e todas as outras sessões da sua conta foram encerradas.
done-login = Entrar
invalid-title = Este link não funciona
invalid-text = O link é inválido, já foi usado ou expirou. Links de redefinição funcionam uma única vez, por tempo limitado.
invalid-again = Pedir um novo link

## Conta
account-title = Sua conta
account-username = Usuário
account-email = E-mail
account-change = Alterar sua senha
account-logout = Sair
account-changed = Sua senha foi alterada. Todas as outras sessões foram encerradas.
change-title = Alterar sua senha
change-intro = Todas as outras sessões da sua conta serão encerradas. A nova senha precisa:
change-current = Senha atual
change-submit = Alterar a senha
back-to-account = Voltar para sua conta

## Erros
error-form-title = Havia algo errado no formulário
error-form-text = Volte e tente novamente.
error-address-title = Este endereço não é válido
error-address-text = O link que você seguiu está malformado. Confira-o ou comece de novo pela primeira página.
error-expired-title = Este formulário expirou
error-expired-text = O formulário era antigo demais ou veio de outro site. Volte, recarregue a página e tente novamente.
error-throttled-title = Tentativas demais
error-throttled-text = Tente novamente em { $wait }.
error-unavailable-title = Temporariamente indisponível
error-unavailable-text = { $product } não consegue responder agora: o banco de dados está fora de alcance ou o serviço está muito ocupado. Tente novamente em instantes.
error-internal-title = Algo deu errado
error-internal-text = Não conseguimos concluir isto. Tente novamente mais tarde.
not-found-title = Página não encontrada
not-found-text = Não há nenhuma página neste endereço. Se você seguiu um link de um e-mail, copie o link inteiro na barra de endereços; caso contrário, comece de novo pela primeira página.
not-found-start = Ir para o início

## Datas
datetime-format = { $day } de { $month } de { $year }, { $time } UTC
month-1 = janeiro
month-2 = fevereiro
month-3 = março
month-4 = abril
month-5 = maio
month-6 = junho
month-7 = julho
month-8 = agosto
month-9 = setembro
month-10 = outubro
month-11 = novembro
month-12 = dezembro

## Mensagens da API (traduções do Django)
api-field-required = Este campo é obrigatório.
api-field-blank = Este campo não pode ser em branco.
api-invalid-email = Informe um endereço de email válido.
api-password-mismatch = Os dois campos de senha não correspondem.
api-invalid-login = Usuário ou senha inválidos
api-invalid-token = A senha de uso único informada não é válida. Confira e tente novamente.
api-too-similar-username = A senha é muito parecida com o nome de usuário.
api-too-similar-email = A senha é muito parecida com o endereço de email.
api-too-short = { $count ->
    [one] Esta senha é muito curta. Ela precisa conter pelo menos { $count } caractere.
   *[other] Esta senha é muito curta. Ela precisa conter pelo menos { $count } caracteres.
}
api-too-long = Esta senha é muito longa.
api-too-common = Esta senha é muito comum.
api-entirely-numeric = Esta senha é inteiramente numérica.
api-old-password = A senha antiga foi digitada incorretamente. Por favor, informe-a novamente.
api-not-found = Não encontrado.
api-no-credentials = As credenciais de autenticação não foram fornecidas.
api-invalid-bearer = Token inválido.
api-too-large = O corpo da requisição é grande demais.
api-throttled = A requisição foi limitada. Disponível novamente em { $count } segundos.

## E-mails
mail-footer = Esta mensagem foi enviada automaticamente por { $product }. As respostas não são lidas.
mail-hello = Olá, { $username },
mail-reset-subject = Redefina sua senha do { $product }
mail-reset-intro = Alguém, esperamos que você, pediu para redefinir a senha da sua conta do { $product }. Escolha uma nova com o botão abaixo.
mail-reset-intro-text = Alguém, esperamos que você, pediu para redefinir a senha da sua conta do { $product }. Escolha uma nova aqui:
mail-reset-button = Escolher uma nova senha
mail-reset-expiry = O link funciona uma única vez e expira em { $expires_at } (daqui a { $lifetime }).
mail-reset-copy = Se o botão não funcionar, copie este endereço no seu navegador:
mail-reset-ignore = Se você não pediu isso, ignore esta mensagem: sua senha continua a mesma.
mail-changed-subject = Sua senha do { $product } foi alterada
mail-changed-text = A senha da sua conta foi alterada em { $changed_at }. Todas as outras sessões foram encerradas.
mail-email-subject = Seu endereço de e-mail do { $product } foi alterado
mail-email-text = O endereço de e-mail da sua conta foi alterado em { $changed_at } por um administrador. Este endereço não receberá mais mensagens sobre a conta, e qualquer link de redefinição enviado a ele antes da alteração não funciona mais.
mail-email-advice = Se você não pediu isso, fale imediatamente com o administrador do site.
mail-changed-from = De
mail-changed-agent = Navegador ou app
mail-changed-secure = Se não foi você, proteja sua conta imediatamente: o botão abaixo encerra todas as sessões, remove a senha e envia a você um link para escolher uma nova.
mail-changed-secure-text = Se não foi você, proteja sua conta imediatamente: este link encerra todas as sessões, remove a senha e envia a você um link para escolher uma nova.
mail-wasnt-me = Não fui eu
mail-reset-cancel = Para inutilizar o link imediatamente:
mail-reset-cancel-link = Não pedi isso
account-sessions = Suas sessões

## Security notices and devices
wasnt-title = Proteja sua conta
wasnt-intro = Se você não alterou sua senha, confirme abaixo. Então vamos:
wasnt-step-signout = encerrar a sessão de todos os navegadores e apps da conta,
wasnt-step-remove = remover a senha atual, para que ninguém consiga entrar com ela,
wasnt-step-mail = enviar a você um link para escolher uma nova senha.
wasnt-submit = Não fui eu: proteger minha conta
wasnt-aside = Se foi você quem alterou a senha, feche esta página: nada mudou.
wasnt-done-title = Sua conta está protegida
wasnt-done-text = Todas as sessões foram encerradas e a senha foi removida. Um link para escolher uma nova senha está a caminho do e-mail da conta.
notice-invalid-text = O link é inválido, já foi usado ou expirou. Estes links funcionam uma única vez, por tempo limitado.
notice-invalid-worried = Preocupado com sua conta? Escolha uma nova senha: isso encerra todas as outras sessões.
notice-invalid-button = Escolher uma nova senha
cancel-title = Cancelar esta redefinição
cancel-intro = Outra pessoa pediu para redefinir sua senha? Confirme abaixo e o link do e-mail deixa de funcionar na hora. Sua senha continua a mesma.
cancel-submit = Não pedi isso: cancelar o link
cancel-aside = Afinal foi você quem pediu? Use o outro link do e-mail para escolher uma nova senha.
cancelled-title = Redefinição cancelada
cancelled-text = O link não funciona mais. Sua senha não foi alterada.
sessions-title = Suas sessões
sessions-intro = Navegadores e apps conectados à sua conta. Encerre os que você não reconhece e depois altere sua senha.
sessions-none = Nenhuma outra sessão.
sessions-this = Este navegador
sessions-signed-in = Conectado em
sessions-last-used = Último uso
sessions-from = De
sessions-agent = Navegador ou app
sessions-end-current = Encerrar esta sessão (sair)
sessions-end = Encerrar esta sessão
sessions-ended = A sessão foi encerrada.
sessions-already-ended = Essa sessão já tinha sido encerrada.
sessions-browser = Sessão do navegador
sessions-app = App (token de API)
sessions-not-since = não desde a conexão
sessions-unknown = desconhecido
