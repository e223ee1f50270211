# Página de inicio.

inicio-titulo = Inicio
inicio-encabezado = Certeza
inicio-aviso-demo = Modo de demostración: todas las personas del registro son ficticias.
inicio-intro = Certeza permite comprobar que una credencial de identidad es auténtica sin entregar la base de datos, y demostrar a cada persona que nadie consultó sus datos sin dejar rastro.
inicio-capacidades = ¿Qué puede hacer aquí?

inicio-registro-titulo = Registro cifrado
inicio-registro-texto = { $personas ->
        [one] El registro contiene 1 persona.
       *[other] El registro contiene { $personas } personas.
    } Cada dato personal está cifrado (AES-256-GCM) y las búsquedas usan índices ciegos (HMAC-SHA-256): un volcado de la base de datos no muestra ningún nombre, CURP ni número de credencial.

inicio-instituciones-titulo = Verificación para instituciones
inicio-instituciones-texto = Bancos y dependencias comprueban en línea que una credencial presentada es auténtica y vigente. Reciben solo «válida» o «no válida», nunca los datos del registro, y cada consulta queda anotada en el registro público.
inicio-instituciones-api = Documentación de la API (OpenAPI)

inicio-accesos-titulo = Mis accesos
inicio-accesos-texto = Vea qué institución consultó sus datos, cuándo y para qué. Su navegador comprueba cada consulta contra el registro público firmado.
inicio-accesos-enlace = Consultar mis accesos

inicio-log-titulo = Registro público de transparencia
inicio-log-texto = Cada consulta y cada operación se anota en un registro público de solo adición (árbol de Merkle con puntos de control firmados). Cualquiera puede auditarlo sin ver datos personales.
inicio-log-enlace = Ver el punto de control firmado

inicio-operacion-titulo = Operación
inicio-healthz = el servicio está en marcha.
inicio-readyz = el servicio y su base de datos están listos.
