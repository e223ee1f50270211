# Textos comunes a todas las páginas (español de México).

marca = Certeza
saltar-contenido = Saltar al contenido principal
nav-etiqueta = Navegación principal
nav-inicio = Inicio
nav-instituciones = Instituciones
nav-mis-accesos = Mis accesos
nav-log = Registro público
nav-entrar = Entrar
pie = Certeza · infraestructura abierta de confianza digital
pie-datos = Sus datos se guardan cifrados; cada consulta queda en un registro público verificable.

fecha-de = de
hora-centro = hora del centro de México
hora-utc = hora UTC
mes-1 = enero
mes-2 = febrero
mes-3 = marzo
mes-4 = abril
mes-5 = mayo
mes-6 = junio
mes-7 = julio
mes-8 = agosto
mes-9 = septiembre
mes-10 = octubre
mes-11 = noviembre
mes-12 = diciembre
