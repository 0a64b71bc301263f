"""Short policy paragraphs in the six languages of the toolkit, for the OCR language benchmark.

Written for this benchmark (plain administrative prose about residents,
services and associations); each is long enough to fill half a page.
"""

PARAGRAPHS: dict[str, list[str]] = {
    "en": [
        "The council will review how residents are involved in the design of local services. Over the next two "
        "years, every department will publish a short plan that says which decisions residents can still "
        "influence, how they will be asked, and what the council will report back once a decision is taken.",
        "Community organisations told us that consultations often come too late and ask questions that have "
        "already been answered. We will involve them earlier, pay for their time when we ask for detailed "
        "advice, and keep a public record of what changed as a result of their contributions.",
    ],
    "fr": [
        "La commune associera les habitants à la conception des services de proximité. Au cours des deux "
        "prochaines années, chaque direction publiera un plan court qui précise les décisions sur lesquelles "
        "les habitants peuvent encore peser, la manière dont ils seront consultés et le compte rendu qui suivra.",
        "Les associations de quartier ont indiqué que les consultations arrivent souvent trop tard. Nous les "
        "réunirons plus tôt, nous rémunérerons leur temps lorsque nous leur demandons un avis détaillé, et nous "
        "tiendrons un registre public de ce qui a changé grâce à leurs contributions.",
    ],
    "de": [
        "Die Gemeinde wird die Bürgerinnen und Bürger stärker an der Gestaltung der öffentlichen Dienste "
        "beteiligen. In den nächsten zwei Jahren veröffentlicht jedes Amt einen kurzen Plan, der festlegt, "
        "welche Entscheidungen noch beeinflusst werden können und wie über die Ergebnisse berichtet wird.",
        "Die Vereine und Verbände haben uns mitgeteilt, dass Anhörungen oft zu spät kommen. Wir werden sie "
        "früher einbeziehen, ihre Zeit vergüten, wenn wir ausführliche Stellungnahmen erbitten, und öffentlich "
        "dokumentieren, was sich aufgrund ihrer Beiträge geändert hat.",
    ],
    "es": [
        "El ayuntamiento implicará a los vecinos en el diseño de los servicios municipales. Durante los "
        "próximos dos años, cada área publicará un plan breve que indique qué decisiones todavía pueden "
        "influir los ciudadanos, cómo se les consultará y qué información recibirán después.",
        "Las asociaciones vecinales nos dijeron que las consultas llegan a menudo demasiado tarde. Las "
        "convocaremos antes, remuneraremos su tiempo cuando les pidamos una opinión detallada y publicaremos "
        "un registro de lo que cambió gracias a sus aportaciones.",
    ],
    "it": [
        "Il comune coinvolgerà i cittadini nella progettazione dei servizi locali. Nei prossimi due anni ogni "
        "settore pubblicherà un breve piano che indichi quali decisioni i cittadini possono ancora "
        "influenzare, come saranno consultati e quali informazioni riceveranno alla fine del percorso.",
        "Le associazioni di quartiere ci hanno detto che le consultazioni arrivano spesso troppo tardi. Le "
        "coinvolgeremo prima, retribuiremo il loro tempo quando chiediamo un parere dettagliato e terremo un "
        "registro pubblico di ciò che è cambiato grazie ai loro contributi.",
    ],
    "nl": [
        "De gemeente betrekt inwoners bij het ontwerp van de lokale dienstverlening. In de komende twee jaar "
        "publiceert elke afdeling een kort plan waarin staat over welke besluiten inwoners nog kunnen "
        "meebeslissen, hoe zij worden geraadpleegd en hoe de gemeente daarna terugkoppelt.",
        "Buurtverenigingen vertelden ons dat inspraak vaak te laat komt. We betrekken hen eerder, vergoeden "
        "hun tijd wanneer we om een uitgebreid advies vragen en houden openbaar bij wat er dankzij hun "
        "bijdragen is veranderd.",
    ],
}
