/*
 * cli_keygen.c - `switchboard keygen`: make a CurveZMQ key pair and its
 * certificate for one role and binding (PRODUCT.md 7, "Securing a region"
 * in README.md).
 *
 *   switchboard keygen --role worker --site mnl-1 --out keys/mnl-1
 *
 * writes keys/mnl-1 (public certificate: give it to the broker's --keys
 * folder) and keys/mnl-1_secret (mode 0600: stays on the machine that
 * uses it, for --cert). The work is in proto/swb_curve.c; this file reads
 * the options and reports. Never talks to a broker.
 */
#include <stdio.h>
#include <string.h>

#include "cli_common.h"
#include "swb_curve.h"
#include "swb_msg.h"

enum { OPT_ROLE = 256, OPT_SITE, OPT_SPONSOR, OPT_REGION, OPT_OUT };

typedef struct keygen_opts {
    const char *role;
    const char *bind_key;
    const char *bind_value;
    const char *out;
    int bindings;
} keygen_opts_t;

static int
keygen_option(void *state, int id, const char *opt, const char *arg)
{
    keygen_opts_t *k = state;
    switch (id) {
    case OPT_ROLE: k->role = arg; return CLI_CONTINUE;
    case OPT_OUT: k->out = arg; return CLI_CONTINUE;
    case OPT_SITE:
    case OPT_SPONSOR:
    case OPT_REGION:
        k->bind_key = id == OPT_SITE ? "site"
                      : id == OPT_SPONSOR ? "sponsor" : "region";
        k->bind_value = arg;
        k->bindings++;
        return cli_opt_name(opt, arg, SWB_MAX_NAME);
    default:
        return cli_usage("internal: option %s has no handler", opt);
    }
}

static int
run_keygen(cli_ctx_t *ctx, const cli_cmd_t *cmd, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, OPT_ROLE},
        {"site", required_argument, NULL, OPT_SITE},
        {"sponsor", required_argument, NULL, OPT_SPONSOR},
        {"region", required_argument, NULL, OPT_REGION},
        {"out", required_argument, NULL, OPT_OUT},
        {NULL, 0, NULL, 0},
    };
    keygen_opts_t k = {0};
    int first;
    int rc = cli_getopt(ctx, cmd, argc, argv, opts, keygen_option, &k,
                        &first);
    if (rc == CLI_CONTINUE)
        rc = cli_positionals(cmd, argc - first, argv + first, 0, 0);
    if (rc != CLI_CONTINUE)
        return rc;
    const char *need;
    if (!k.role)
        return cli_usage("keygen: --role is required (worker, client, "
                         "operator, peer or broker)");
    if (!swb_curve_role_binding(k.role, &need))
        return cli_usage("--role: \"%s\" is not worker, client, operator, "
                         "peer or broker", k.role);
    if (k.bindings > 1)
        return cli_usage("keygen: give one of --site, --sponsor, --region");
    if (!k.out || !*k.out)
        return cli_usage("keygen: --out PATH is required");
    char why[400], pub[SWB_Z85_KEY_LEN + 1];
    swb_err_t err = swb_curve_keygen(k.role, k.bind_key, k.bind_value, k.out,
                                     pub, why, sizeof why);
    if (err == SWB_EINVAL)
        return cli_usage("keygen: %s", why);
    if (err) {
        fprintf(stderr, "switchboard: keygen: %s\n", why);
        return CLI_EXIT_USAGE;
    }
    if (ctx->json) {
        json_t *doc = json_pack("{s:s, s:s, s:s?, s:s?, s:s, s:s}", "role",
                                k.role, "public_key", pub, "binding",
                                need, "bound_to", need ? k.bind_value : NULL,
                                "public_file", k.out, "secret_file", "");
        char secret[4200];
        snprintf(secret, sizeof secret, "%s_secret", k.out);
        json_object_set_new(doc, "secret_file", json_string(secret));
        cli_print_json(doc);
    } else {
        printf("public key %s\n", pub);
        printf("public certificate %s (for the broker's --keys folder)\n",
               k.out);
        printf("secret certificate %s_secret (mode 0600; for --cert)\n",
               k.out);
    }
    return CLI_EXIT_OK;
}

const cli_cmd_t cli_cmd_keygen = {
    "keygen", run_keygen,
    "--role ROLE [--site ID|--sponsor NAME|--region NAME] --out PATH",
    "Make a CurveZMQ key pair and certificate for a role.",
    "Writes the public certificate PATH (give it to the broker's --keys\n"
    "folder) and the secret one PATH_secret (mode 0600; use it with\n"
    "--cert). Existing files are never overwritten.\n\n"
    "Options:\n"
    "  --role ROLE             worker (needs --site), client (needs\n"
    "                          --sponsor), operator, peer (needs\n"
    "                          --region) or broker\n"
    "  --site ID               the only site a worker key acts for\n"
    "  --sponsor NAME          the only sponsor a client key acts for\n"
    "  --region NAME           the region a peer key stands for\n"
    "  --out PATH              where to write the certificate\n"};
