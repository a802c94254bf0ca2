"""What the hub package contributes: its routers, models, jobs, commands, hooks (see ``hub.packages``)."""

from hub.packages import Commands, Fill, Mount, Package, Router

PACKAGE = Package(
    name="hub",
    routers=(
        Router("hub.links.api", Mount.ROOT, hot=True),  # first: the public link is the hottest path
        Router("hub.health", Mount.ROOT, hot=True),
        Router("hub.auth.api"),
        Router("hub.regions.api"),
        Router("hub.stores.api"),
        Router("hub.staff.api"),
        Router("hub.products.api"),
        Router("hub.customers.api"),
        Router("hub.campaigns.api"),
        Router("hub.imports.api"),
        Router("hub.outbox.api"),
        Router("hub.codes.api"),
        Router("hub.codes.images.api"),
        Router("hub.codes.batches.api"),
        Router("hub.codes.stats.api"),
        Router("hub.wecom.contact_ways.api"),
        Router("hub.wecom.contacts.api"),
        Router("hub.staffweb.routes", Mount.ROOT),  # /staff/: pages for staff inside WeCom
    ),
    models=(
        "hub.auth.models",
        "hub.idempotency.models",
        "hub.outbox.models",
        "hub.regions.models",
        "hub.stores.models",
        "hub.staff.models",
        "hub.products.models",
        "hub.customers.models",
        "hub.campaigns.models",
        "hub.codes.models",
        "hub.codes.batches.models",
        "hub.events.models",
        "hub.wecom.models",
        "hub.wecom.contact_ways.models",
        "hub.wecom.tags.models",
    ),
    jobs=(
        "hub.outbox.jobs",
        "hub.campaigns.jobs",
        "hub.idempotency.jobs",
        "hub.codes.batches.jobs",
        "hub.links.jobs",
        "hub.wecom.tags.jobs",
        "hub.wecom.contacts.jobs",
        "hub.wecom.contact_ways.jobs",
    ),
    commands=(
        Commands("hub.auth.cli", "keys", "Create, list and revoke API keys."),
        Commands("hub.outbox.cli", "outbox", "Inspect and replay the outbox."),
        Commands("hub.imports.cli", "import", "Import regions, stores, staff or products from CSV (all or nothing)."),
        Commands("hub.regions.cli", "regions", "List regions."),
        Commands("hub.stores.cli", "stores", "List stores."),
        Commands("hub.staff.cli", "staff", "List staff."),
        Commands("hub.products.cli", "products", "List products."),
        Commands("hub.customers.cli", "customers", "Look up customers."),
        Commands("hub.codes.cli", "codes",
                 "Store, product and staff codes, livestream links: create, batch, statistics."),
        Commands("hub.campaigns.cli", "campaigns",
                 "List and show campaigns (approval happens over the API, per key)."),
        Commands("hub.wecom.cli", "wecom", "WeCom contact-me codes: list them, push them to WeCom again."),
    ),
    on_startup=("hub.links.lifecycle:start",),  # the link cache, throttle and scan writer
    on_shutdown=("hub.links.lifecycle:stop",),  # buffered scans are written before the database closes
    on_exit=("hub.wecom.connection:close_wecom_client",),
    hooks=(
        # The WeCom side keeps the contact way behind a contact-me code (codes sit below wecom).
        Fill("hub.codes.hooks:contact_way_wanted", "hub.wecom.contact_ways.service:create_for_code"),
        Fill("hub.codes.hooks:target_kept_by_hub", "hub.wecom.contact_ways.service:has_contact_way"),
        Fill("hub.codes.hooks:code_disabled", "hub.wecom.contact_ways.service:code_disabled"),
        Fill("hub.codes.hooks:code_enabled", "hub.wecom.contact_ways.service:code_enabled"),
        Fill("hub.staff.hooks:staff_changed", "hub.wecom.contact_ways.service:staff_changed"),
        # The public link's cache drops a code once its change commits (codes sit below links).
        Fill("hub.codes.hooks:code_committed", "hub.links.cache:invalidate"),
        # The link's signed token is one source of attribution (events sit below links).
        Fill("hub.events.hooks:verify_attribution_token", "hub.links.tokens:verify"),
        # A staff page's session cookie stands for a key on reads (auth sits below staffweb).
        Fill("hub.auth.hooks:session_principal", "hub.staffweb.session:principal_from_request"),
    ),
)
