# Credenciales con código QR: verificación y confirmación de recepción.

verificar-titulo = Verificar una credencial
verificar-intro = Tome una foto del código QR de la credencial o constancia, elija una imagen o pegue el texto del código. Le diremos quién la emitió y si es válida.
verificar-foto = Foto del código QR
verificar-foto-ayuda = En un teléfono se abre la cámara. Acerque el código, con buena luz y sin reflejos.
verificar-codigo = O pegue el texto del código
verificar-codigo-ayuda = Empieza con CZ1: (credenciales de Certeza) o HC1: (certificados COVID de la Unión Europea).
verificar-enviar = Verificar
verificar-privacidad = La verificación usa la lista de confianza y la lista de revocación publicadas; no guardamos la foto ni el código.
verificar-sin-entrada = Elija una foto del código QR o pegue el texto del código.
verificar-sin-qr = No encontramos un código QR legible en la foto. Acerque la cámara, con buena luz, y vuelva a intentarlo.

resultado-valida = La credencial es válida
resultado-valida-texto = La firma es auténtica, la emitió { $emisor }, está vigente y no ha sido revocada.
resultado-no-valida = La credencial no es válida
resultado-no-leida = No pudimos leer el código
resultado-documento = Documento
resultado-emisor = Emitida por
resultado-emitida = Fecha de emisión
resultado-vence = Vence
emisor-desconocido = un emisor desconocido

razon-malformed = El código está incompleto o alterado: no tiene el formato de una credencial.
razon-unknown-key = No reconocemos a quien la firmó: no proviene de un emisor de confianza o su llave no estaba autorizada cuando se emitió.
razon-bad-signature = La firma no corresponde al contenido: el código fue alterado después de emitirse. No la acepte.
razon-expired = La credencial venció el { $fecha }.
razon-not-yet-valid = La credencial todavía no es válida: su fecha de emisión es posterior a la fecha actual.
razon-revoked = Quien la emitió la revocó: ya no es válida.

documento-cpv = Credencial para votar
documento-constancia = Constancia
documento-cita = Cita
documento-dcc = Certificado COVID digital de la Unión Europea
documento-otro = Documento

campo-nombre = Nombre
campo-curp = CURP
campo-clave-elector = Clave de elector
campo-emision = Número de emisión
campo-sexo = Sexo
campo-nacimiento = Fecha de nacimiento
campo-asunto = Asunto
campo-si = sí
campo-no = no

recepcion-titulo = Confirmar la recepción de su credencial
recepcion-intro = Si vota desde el extranjero, confirme aquí que recibió su nueva credencial: tome una foto de su código QR (o pegue el texto) y escriba su CURP. Así queda activa.
recepcion-curp = CURP
recepcion-curp-ayuda = 18 letras y números, la misma CURP de la credencial.
recepcion-enviar = Confirmar recepción
recepcion-curp-invalida = Revise su CURP: tiene 18 caracteres.
recepcion-confirmada = Listo: confirmamos que recibió su credencial. Ya está activa.
recepcion-ya-confirmada = Esta credencial ya estaba confirmada como recibida. Está activa.
recepcion-no-coincide = La credencial es válida, pero no corresponde a esa CURP. Revise que sea su credencial y su CURP.
