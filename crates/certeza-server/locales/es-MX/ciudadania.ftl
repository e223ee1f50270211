# Entrada de la ciudadanía, mis accesos y el buzón de la demostración.

entrar-titulo = Entrar
entrar-intro = Escriba su CURP y el CIC de su credencial para votar. Si coinciden con el registro, le enviaremos un código de un solo uso a su teléfono o correo registrado.
entrar-aviso-demo = Demostración: use una de las personas de ejemplo de demo.json; el código llega al buzón de la demostración.
entrar-curp = CURP
entrar-curp-ayuda = 18 letras y números, por ejemplo GODE561231HDFRRN09.
entrar-cic = CIC de la credencial para votar
entrar-cic-ayuda = Los 9 dígitos que aparecen al reverso de su credencial, después de «IDMEX».
entrar-enviar = Enviar código
entrar-privacidad = Solo comparamos datos cifrados: nadie ve su CURP en los registros del servicio.
entrar-error-formato = Revise los datos: la CURP tiene 18 caracteres y el CIC, 9 dígitos.
entrar-error-datos = No pudimos confirmar sus datos. Revise su CURP y su CIC e inténtelo de nuevo.
entrar-error-limite = Demasiados intentos. Espere 15 minutos antes de volver a intentarlo.
entrar-error-envio = En este momento no podemos enviar códigos. Inténtelo más tarde.

codigo-titulo = Código de acceso
codigo-intro = Le enviamos un código de 6 dígitos a su contacto registrado. Vence en 5 minutos.
codigo-aviso-demo = Demostración: el mensaje está en el
codigo-etiqueta = Código de 6 dígitos
codigo-ayuda = Escriba solo los números.
codigo-enviar = Entrar
codigo-pedir-otro = Solicitar un código nuevo
codigo-error-formato = El código tiene 6 dígitos.
codigo-error-vencido = El código venció o se agotaron los intentos. Solicite un código nuevo.
codigo-intentos-restantes = { $n ->
        [one] Código incorrecto. Le queda 1 intento.
       *[other] Código incorrecto. Le quedan { $n } intentos.
    }
codigo-mensaje = Certeza: su código para entrar es { $codigo }. Vence en 5 minutos. No lo comparta con nadie.

salir-titulo = Salir
salir-pregunta = ¿Desea cerrar su sesión?
salir-boton = Cerrar sesión

accesos-titulo = Mis accesos
accesos-intro = Estas son las consultas que instituciones hicieron sobre su credencial. Su navegador comprueba cada una contra el registro público firmado, sin confiar en este servidor.
accesos-ninguno = Ninguna institución ha consultado sus datos.
accesos-cuando = Fecha
accesos-proposito = Propósito
accesos-resultado = Resultado
accesos-resumen = Comprobadas en el registro público:
accesos-sin-javascript = Para comprobar las consultas en el registro público, active JavaScript.
accesos-como-titulo = ¿Cómo se comprueba?
accesos-como = Su navegador calcula la huella de cada anotación, recorre la prueba de inclusión hasta la raíz del árbol, verifica la firma Ed25519 del punto de control con la llave pública del registro y confirma que la anotación se refiere a usted (compromiso con su sal privada).
accesos-json = Datos de la comprobación (JSON)
accesos-checkpoint = Punto de control del registro público

estado-comprobando = Comprobando en el registro público…
estado-verificado = verificado en el registro público
estado-pendiente = pendiente de integrar en el registro público
estado-fallo = La comprobación falló:
estado-sin-soporte = Su navegador no puede verificar firmas Ed25519; no fue posible comprobar.

resultado-valido = La credencial presentada es válida.
resultado-invalido = La credencial presentada no es válida.
resultado-not-found = No se encontró la credencial en el registro.
resultado-mismatch = Los datos presentados no coinciden con el registro.
resultado-reported-lost = La credencial está reportada como extraviada.
resultado-reported-stolen = La credencial está reportada como robada.
resultado-expired = La credencial está vencida.
resultado-replaced = La credencial fue sustituida por una más reciente.
resultado-cancelled = La credencial está cancelada.

buzon-titulo = Buzón de la demostración
buzon-enlace = buzón de la demostración.
buzon-intro = Demostración: aquí aparecen los mensajes que en producción se enviarían por SMS, correo o WhatsApp. Los destinos se muestran enmascarados.
buzon-vacio = Todavía no hay mensajes.
buzon-sms = SMS
buzon-correo = correo
