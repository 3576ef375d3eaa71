/**
 * Generated from Herald's OpenAPI document (/openapi.json) by scripts/openapi-types.ts, which
 * `npm run build:dashboard` runs. Do not edit: change the route schemas under src/api/ instead.
 */
export interface paths {
    "/api/v1/account": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The calling key's account and scope */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            id?: string;
                            key?: {
                                id?: string;
                                scope?: string;
                            };
                            name?: string;
                            rate_per_day?: number | null;
                            rate_per_minute?: number | null;
                            /** @description Default click tracking (HTML links) for messages that do not choose. */
                            track_links?: boolean;
                            /** @description Default open tracking for messages that do not choose (herald accounts set-tracking). */
                            track_opens?: boolean;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The account's active API keys (never the keys themselves) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            api_keys?: {
                                /** Format: date-time */
                                created_at?: string;
                                id?: string;
                                /** Format: date-time */
                                last_used_at?: string | null;
                                name?: string;
                                /** @description The first characters of the key, to tell keys apart. */
                                prefix?: string;
                                /** @enum {string} */
                                scope?: "send" | "read" | "admin";
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create an API key (the key is in this answer only) */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                        /** @enum {string} */
                        scope: "send" | "read" | "admin";
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            id?: string;
                            key?: string;
                            /** Format: date-time */
                            last_used_at?: string | null;
                            name?: string;
                            /** @description The first characters of the key, to tell keys apart. */
                            prefix?: string;
                            /** @enum {string} */
                            scope?: "send" | "read" | "admin";
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/api-keys/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an API key (by id or name); it stops working at once */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/credentials": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The account's active SMTP credentials (never the passwords) */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            credentials?: {
                                /** Format: date-time */
                                created_at?: string;
                                id?: string;
                                /** @enum {string} */
                                kind?: "password" | "network";
                                name?: string;
                                /** @description Client networks that may relay without AUTH (network credentials, made with the CLI). */
                                networks?: string[];
                                /** @description The SMTP AUTH username (password credentials). */
                                username?: string | null;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Create an SMTP credential (the password is in this answer only)
         * @description A generated username and password for SMTP AUTH on the submission ports. Herald keeps only a hash of the password.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        name: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            id?: string;
                            /** @enum {string} */
                            kind?: "password" | "network";
                            name?: string;
                            /** @description Client networks that may relay without AUTH (network credentials, made with the CLI). */
                            networks?: string[];
                            password?: string;
                            /** @description The SMTP AUTH username (password credentials). */
                            username?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/credentials/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        post?: never;
        /** Revoke an SMTP credential (by id or name); it can no longer send */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/domains": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The account's sending domains */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            domains?: components["schemas"]["Domain"][];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Add a sending domain
         * @description Makes its DKIM key(s) and answers with every DNS record to publish. Then publish them and call verify.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Default ["rsa"]; add "ed25519" for a second signature. */
                        dkim?: ("rsa" | "ed25519")[];
                        name: string;
                        /** @description Where bounces come back; default bounces.<name>. */
                        return_path?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Domain"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/domains/{name}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A domain, its keys, its last check and the records to publish */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The domain, e.g. example.com. */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Domain"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Remove a sending domain and its keys */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The domain, e.g. example.com. */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/domains/{name}/rotate-dkim": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a new DKIM key
         * @description The new key is used once its record is published and verified; the old one stays valid for 7 days.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The domain, e.g. example.com. */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Domain"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/domains/{name}/verify": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Check the records now
         * @description Each record is reported as ok, missing or wrong, with the exact fix. A change is also sent as a domain.verification_changed event.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The domain, e.g. example.com. */
                    name: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Domain"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/events": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The account's events, oldest first, after a cursor
         * @description Pass `next_cursor` as `after` to continue. `has_more: false` means there is nothing newer yet: poll again later with the same cursor. Events are kept as long as messages (HERALD_RETENTION); `after=0` starts at the oldest kept.
         */
        get: {
            parameters: {
                query?: {
                    /** @description A cursor: next_cursor of the previous page (default 0). */
                    after?: string;
                    /** @description 1 to 1000, default 100. */
                    limit?: string;
                    /** @description Only these types, comma-separated: message.accepted, message.delivered, message.deferred, message.bounced, message.expired, message.complained, message.opened, message.clicked, message.unsubscribed, message.suppressed, domain.verification_changed, webhook.disabled. */
                    type?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            events?: {
                                /** @description The cursor just after this event. */
                                cursor?: string;
                                /** @description As in the webhook of the same type; data.event_id is its webhook-id. */
                                data?: Record<string, never>;
                                /** Format: date-time */
                                timestamp?: string;
                                type?: string;
                            }[];
                            has_more?: boolean;
                            next_cursor?: string;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/events/stream": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The account's events, live, as server-sent events
         * @description A `text/event-stream`: each event is one `data:` line holding the same JSON as an entry of GET /events, with its cursor as the `id:`. Without `after` the stream starts with the next event committed; a reconnecting client sends `Last-Event-ID` and goes on from there. An idle stream sends a `: heartbeat` comment every 15 s.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Start after this cursor (a `cursor` or `next_cursor` of GET /events); default: now. */
                    after?: string;
                    /** @description Only this message's events. */
                    message_id?: string;
                };
                header?: {
                    /** @description Resume after this cursor (wins over `after`). */
                    "last-event-id"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description text/event-stream */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": string;
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inbound": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Inbound mail (bounces, complaints, mail to postmaster@), newest first
         * @description What the MX listener accepted for Herald’s own addresses, kept as long as messages (HERALD_RETENTION). Pass `next_cursor` from a page as `cursor` to get the next one.
         */
        get: {
            parameters: {
                query?: {
                    cursor?: string;
                    kind?: "dsn" | "free_text_bounce" | "arf" | "unsubscribe" | "other";
                    /** @description Page size, 1 to 500 (default 50). */
                    limit?: string;
                    /** @description Only records about this message. */
                    message_id?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            inbound?: components["schemas"]["InboundRecord"][];
                            next_cursor?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inbound/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One inbound message: what it was, what it was about, its authentication verdicts
         * @description The message itself, with the Authentication-Results Herald added, is at /inbound/{id}/raw.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description An inbound record id (an event’s data.inbound_id). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["InboundRecord"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/inbound/{id}/raw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** One inbound message as received, with Authentication-Results (RFC 8601) prepended */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description An inbound record id (an event’s data.inbound_id). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The message (message/rfc822): Received-SPF and Authentication-Results fields Herald added, then the message as received. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "message/rfc822": string;
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "message/rfc822": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "message/rfc822": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "message/rfc822": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "message/rfc822": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Search messages, newest first
         * @description Filters combine. Pass `next_cursor` from a page as `cursor` to get the next one.
         */
        get: {
            parameters: {
                query?: {
                    cursor?: string;
                    /** @description Created at or after this time. */
                    from?: string;
                    /** @description Page size, 1 to 100 (default 50). */
                    limit?: string;
                    /** @description An envelope recipient address. */
                    recipient?: string;
                    /** @description The envelope sender (MAIL FROM) address, or `@example.com` for every sender of a domain. */
                    sender?: string;
                    /** @description Messages with at least one recipient in this state. */
                    status?: "queued" | "deferred" | "delivering" | "held" | "delivered" | "bounced" | "expired";
                    /** @description Subject contains this text, case-insensitively (at least 3 characters). */
                    subject?: string;
                    tag?: string;
                    /** @description Created before this time. */
                    to?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            messages?: components["schemas"]["MessageSummary"][];
                            next_cursor?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Send a message
         * @description Queues one message. Answers 202 only after it is stored durably.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Makes a retry safe: the same key and body return the first answer (kept at least 24 h). */
                    "idempotency-key"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["Message"];
                };
            };
            responses: {
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SendResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A message, its recipients and its event timeline */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageDetail"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/attachments/{index}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * One attachment of the message, for download
         * @description The attachment at this position in the list GET /messages/{id}/content answers (from 0), decoded. Always application/octet-stream with Content-Disposition: attachment, whatever the attachment's own type, so a browser saves it and never shows it.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                    /** @description The position in `attachments`, from 0. */
                    index: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description The attachment, decoded. */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/octet-stream": string;
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/cancel": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Cancel a message
         * @description Removes it from the queue with its body: recipients still waiting are never delivered (and get no bounce). A message with no recipient waiting cannot be cancelled (409).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageActionResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/content": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The message's headers, text part and attachments, parsed
         * @description What the message page shows besides the HTML: every header in the order written (decoded), the text part, whether there is an HTML part (GET /messages/{id}/html shows it inert), and the attachments by name, type and size.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attachments: {
                                filename: string | null;
                                mime_type: string;
                                /** @description Bytes, decoded. */
                                size: number;
                            }[];
                            has_html: boolean;
                            headers: {
                                name: string;
                                value: string;
                            }[];
                            /** @description The text/plain part; null when the message has none. */
                            text: string | null;
                        };
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/hold": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Hold a message
         * @description Pauses delivery of its queued and deferred recipients until it is released (a recipient being delivered right now finishes its attempt).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageActionResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/html": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * The message's HTML, made inert
         * @description The HTML part as sent (or the text part, escaped, when there is no HTML), under a Content-Security-Policy that lets no script run and loads nothing remote. Show it in an <iframe sandbox> without allow-scripts and without allow-same-origin.
         */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description text/html */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": string;
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/raw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The message source as stored (RFC 5322), for download */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description message/rfc822 */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": string;
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/release": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Release a held message
         * @description Its held recipients are due again now.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageActionResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/{id}/retry": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry a message now
         * @description Makes its queued and deferred recipients due now, ahead of the retry schedule.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["MessageActionResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/actions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Retry, hold, release or cancel up to 1000 messages
         * @description Each message is judged on its own, in order: the results say which were changed and why the others were not (the same errors as the single-message calls).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @enum {string} */
                        action: "retry" | "hold" | "release" | "cancel";
                        /** @description Message ids, 1 to 1000. */
                        ids: string[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            action?: string;
                            failed?: number;
                            results?: {
                                error?: components["schemas"]["Error"]["error"];
                                id?: string;
                                ok?: boolean;
                                recipients?: number;
                                status?: string | null;
                            }[];
                            succeeded?: number;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/batch": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send up to 500 messages
         * @description Each message is judged on its own: the results list says, in order, which were queued and why the others were refused.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Makes a retry safe: the same key and body return the first answer (kept at least 24 h). */
                    "idempotency-key"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["MessageBatch"];
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            accepted?: number;
                            rejected?: number;
                            results?: {
                                error?: components["schemas"]["Error"]["error"];
                                id?: string;
                                index?: number;
                                recipients?: string[];
                                /** @enum {string} */
                                status?: "queued" | "scheduled" | "rejected";
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/messages/raw": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a complete RFC 5322 message
         * @description The message is sent as given (Herald adds Received, and Message-ID and Date when missing) to the envelope recipients.
         */
        post: {
            parameters: {
                query?: never;
                header?: {
                    /** @description Makes a retry safe: the same key and body return the first answer (kept at least 24 h). */
                    "idempotency-key"?: string;
                };
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": components["schemas"]["RawMessage"];
                };
            };
            responses: {
                /** @description Default Response */
                202: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["SendResult"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                413: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                503: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/session": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The signed-in user, the active account and the CSRF token */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The account this session acts on, the role there and the API key scope it acts with. */
                            account?: {
                                id?: string;
                                name?: string;
                                /** @enum {string} */
                                role?: "owner" | "admin" | "viewer";
                                scope?: string;
                            };
                            /** @description Every account the user may switch to (all of them for an operator). */
                            accounts?: {
                                id?: string;
                                name?: string;
                                role?: string;
                            }[];
                            /** @description Send this in the X-Herald-CSRF header of every POST, PUT, PATCH and DELETE made with the session cookie. */
                            csrf?: string;
                            /**
                             * Format: date-time
                             * @description When the session ends if left unused (each use renews it).
                             */
                            expires_at?: string;
                            user?: {
                                email?: string;
                                id?: string;
                                operator?: boolean;
                            };
                        };
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Sign in to the dashboard
         * @description Checks the e-mail address and password of a dashboard user (herald users create) and sets the herald_session cookie. Repeated failures lock the address out for a while (429 with Retry-After).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        email: string;
                        password: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The account this session acts on, the role there and the API key scope it acts with. */
                            account?: {
                                id?: string;
                                name?: string;
                                /** @enum {string} */
                                role?: "owner" | "admin" | "viewer";
                                scope?: string;
                            };
                            /** @description Every account the user may switch to (all of them for an operator). */
                            accounts?: {
                                id?: string;
                                name?: string;
                                role?: string;
                            }[];
                            /** @description Send this in the X-Herald-CSRF header of every POST, PUT, PATCH and DELETE made with the session cookie. */
                            csrf?: string;
                            /**
                             * Format: date-time
                             * @description When the session ends if left unused (each use renews it).
                             */
                            expires_at?: string;
                            user?: {
                                email?: string;
                                id?: string;
                                operator?: boolean;
                            };
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                429: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        /** Sign out */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/session/account": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        /**
         * Switch the session to another account
         * @description Operators may open any account; other users the accounts they have a role on.
         */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description Account id or name. */
                        account: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description The account this session acts on, the role there and the API key scope it acts with. */
                            account?: {
                                id?: string;
                                name?: string;
                                /** @enum {string} */
                                role?: "owner" | "admin" | "viewer";
                                scope?: string;
                            };
                            /** @description Every account the user may switch to (all of them for an operator). */
                            accounts?: {
                                id?: string;
                                name?: string;
                                role?: string;
                            }[];
                            /** @description Send this in the X-Herald-CSRF header of every POST, PUT, PATCH and DELETE made with the session cookie. */
                            csrf?: string;
                            /**
                             * Format: date-time
                             * @description When the session ends if left unused (each use renews it).
                             */
                            expires_at?: string;
                            user?: {
                                email?: string;
                                id?: string;
                                operator?: boolean;
                            };
                        };
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/stats": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Sending statistics: totals and a row per day, hour, domain, tag or stream
         * @description Counts from roll-ups kept per UTC hour and day, and per minute for the whole account's figures of the last 48 hours (the event table is never scanned), with the rates users watch. The answer's from and to are the range counted: exact to the minute for the whole account's figures (no tag or domain filter; group_by day or stream) at an end within the last 48 hours; rounded out to whole UTC hours otherwise (tags and domains are counted per hour). Default range: today and the 6 days before (UTC). group_by=hour covers at most 31 days, every other grouping 400. A stream filter combines with anything; tag and domain filters do not combine with each other, nor with grouping by the other.
         */
        get: {
            parameters: {
                query?: {
                    /** @description Only recipients at this domain (the part of the address after @). */
                    domain?: string;
                    /** @description A UTC day (2030-03-01) or an ISO 8601 time, rounded down to the minute or the hour (see the answer's from). Default: 6 days before today, 00:00 UTC. */
                    from?: string;
                    /** @description day, hour, domain, tag, stream; default day. */
                    group_by?: string;
                    /** @description Only this stream: transactional or broadcast. */
                    stream?: string;
                    /** @description Only messages with this tag. */
                    tag?: string;
                    /** @description A UTC day (that whole day included) or an ISO 8601 time (exclusive), rounded up to the minute or the hour (see the answer's to). Default: now (the end of the current minute, or hour). */
                    to?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            filters?: {
                                domain?: string | null;
                                stream?: string | null;
                                tag?: string | null;
                            };
                            /**
                             * Format: date-time
                             * @description Start of the range counted (inclusive): exact to the minute for the whole account's figures (no tag or domain filter; group_by day or stream) at an end within the last 48 hours; rounded out to whole UTC hours otherwise (tags and domains are counted per hour).
                             */
                            from?: string;
                            /** @enum {string} */
                            group_by?: "day" | "hour" | "domain" | "tag" | "stream";
                            /** @description The queue now, across all accounts (not limited by the range or filters): recipients waiting per state, and when the oldest of them was accepted. */
                            queue?: {
                                deferred: number;
                                delivering: number;
                                held: number;
                                /**
                                 * Format: date-time
                                 * @description When the oldest message with a waiting recipient was accepted; null when nothing waits.
                                 */
                                oldest_created_at: string | null;
                                queued: number;
                            };
                            rows?: {
                                /** @description A fraction (0.25 is 25%): bounced / sent; null when nothing was sent. */
                                bounce_rate?: number | null;
                                /** @description bounced_hard + bounced_soft. */
                                bounced?: number;
                                /** @description Bounces that mean the address is bad (these suppress it). */
                                bounced_hard?: number;
                                /** @description Other bounces: a full mailbox, a refused message, a policy. */
                                bounced_soft?: number;
                                /** @description A fraction (0.25 is 25%): clicked_unique / delivered; null when nothing was delivered. */
                                click_rate?: number | null;
                                /** @description Clicks made by machines (link scanners), part of clicked_total. */
                                clicked_machine?: number;
                                /** @description Every click. */
                                clicked_total?: number;
                                /** @description Recipients who clicked at least one link (once per message). */
                                clicked_unique?: number;
                                /** @description Recipients who reported a message as spam (once per message). */
                                complained?: number;
                                /** @description A fraction (0.25 is 25%): complained / delivered; null when nothing was delivered. */
                                complaint_rate?: number | null;
                                /** @description Attempts deferred (a recipient deferred three times counts three). */
                                deferred?: number;
                                /** @description Recipients delivered (the receiving server answered 250). */
                                delivered?: number;
                                /** @description A fraction (0.25 is 25%): delivered / sent; null when nothing was sent. */
                                delivery_rate?: number | null;
                                /** @description Recipients given up on after HERALD_MAX_QUEUE_AGE of deferrals. */
                                expired?: number;
                                /** @description The group: a day (2030-03-01), an hour (2030-03-01T10:00:00Z), a domain, a tag or a stream. */
                                key?: string;
                                /** @description A fraction (0.25 is 25%): opened_unique / delivered; null when nothing was delivered. */
                                open_rate?: number | null;
                                /** @description Every open, repeated ones and machine ones included. */
                                opened_total?: number;
                                /** @description Recipients who opened a message (once per message; a message with several recipients counts once). */
                                opened_unique?: number;
                                /** @description Of those, recipients with at least one open by a person. */
                                opened_unique_human?: number;
                                /** @description Of those, recipients with at least one open by a machine (privacy proxies, scanners). */
                                opened_unique_machine?: number;
                                /** @description Recipients in accepted messages. */
                                sent?: number;
                                /** @description Recipients left out because they were on the suppression list. */
                                suppressed?: number;
                                /** @description Recipients who unsubscribed (once per message). */
                                unsubscribed?: number;
                            }[];
                            /**
                             * Format: date-time
                             * @description End of the range counted (exclusive): exact to the minute for the whole account's figures (no tag or domain filter; group_by day or stream) at an end within the last 48 hours; rounded out to whole UTC hours otherwise (tags and domains are counted per hour).
                             */
                            to?: string;
                            totals?: {
                                /** @description A fraction (0.25 is 25%): bounced / sent; null when nothing was sent. */
                                bounce_rate?: number | null;
                                /** @description bounced_hard + bounced_soft. */
                                bounced?: number;
                                /** @description Bounces that mean the address is bad (these suppress it). */
                                bounced_hard?: number;
                                /** @description Other bounces: a full mailbox, a refused message, a policy. */
                                bounced_soft?: number;
                                /** @description A fraction (0.25 is 25%): clicked_unique / delivered; null when nothing was delivered. */
                                click_rate?: number | null;
                                /** @description Clicks made by machines (link scanners), part of clicked_total. */
                                clicked_machine?: number;
                                /** @description Every click. */
                                clicked_total?: number;
                                /** @description Recipients who clicked at least one link (once per message). */
                                clicked_unique?: number;
                                /** @description Recipients who reported a message as spam (once per message). */
                                complained?: number;
                                /** @description A fraction (0.25 is 25%): complained / delivered; null when nothing was delivered. */
                                complaint_rate?: number | null;
                                /** @description Attempts deferred (a recipient deferred three times counts three). */
                                deferred?: number;
                                /** @description Recipients delivered (the receiving server answered 250). */
                                delivered?: number;
                                /** @description A fraction (0.25 is 25%): delivered / sent; null when nothing was sent. */
                                delivery_rate?: number | null;
                                /** @description Recipients given up on after HERALD_MAX_QUEUE_AGE of deferrals. */
                                expired?: number;
                                /** @description A fraction (0.25 is 25%): opened_unique / delivered; null when nothing was delivered. */
                                open_rate?: number | null;
                                /** @description Every open, repeated ones and machine ones included. */
                                opened_total?: number;
                                /** @description Recipients who opened a message (once per message; a message with several recipients counts once). */
                                opened_unique?: number;
                                /** @description Of those, recipients with at least one open by a person. */
                                opened_unique_human?: number;
                                /** @description Of those, recipients with at least one open by a machine (privacy proxies, scanners). */
                                opened_unique_machine?: number;
                                /** @description Recipients in accepted messages. */
                                sent?: number;
                                /** @description Recipients left out because they were on the suppression list. */
                                suppressed?: number;
                                /** @description Recipients who unsubscribed (once per message). */
                                unsubscribed?: number;
                            };
                            /** @description true when more than 1000 domains or tags matched: the largest by sent are listed. */
                            truncated?: boolean;
                            /**
                             * Format: date-time
                             * @description When the roll-ups last took in events: the numbers are as of then (usually a second or two ago).
                             */
                            updated_at?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/suppressions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List suppressed addresses, by address */
        get: {
            parameters: {
                query?: {
                    cursor?: string;
                    /** @description 1 to 1000, default 100. */
                    limit?: string;
                    reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                    /** @description Part of the address, case-insensitive. */
                    search?: string;
                    stream?: "transactional" | "broadcast";
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            next_cursor?: string | null;
                            suppressions?: {
                                address?: string;
                                /**
                                 * Format: date-time
                                 * @description When the address got this reason.
                                 */
                                created_at?: string;
                                /** @description The remote server's reply or other words on why. */
                                detail?: string | null;
                                /**
                                 * Format: date-time
                                 * @description Manual entries only: when it stops applying.
                                 */
                                expires_at?: string | null;
                                /** @description The message whose bounce, complaint or unsubscribe caused the entry. */
                                message_id?: string | null;
                                /** @enum {string} */
                                reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                                /** @enum {string} */
                                stream?: "transactional" | "broadcast";
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Suppress addresses
         * @description Adds one address or up to 1000. Idempotent: an address already suppressed keeps its first reason unless the new one is stronger (manual < soft_bounces < unsubscribe < hard_bounce < complaint).
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            /** @description One address (`address`, `stream`, `reason`, `expires_at`) or many (`suppressions`). */
            requestBody: {
                content: {
                    "application/json": {
                        address?: string;
                        /** @description ISO 8601 time; manual entries only. Default: never. */
                        expires_at?: string;
                        /**
                         * @description Default manual.
                         * @enum {string}
                         */
                        reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                        /**
                         * @description Default all: both streams.
                         * @enum {string}
                         */
                        stream?: "transactional" | "broadcast" | "all";
                        suppressions?: {
                            address: string;
                            /** @description ISO 8601 time; manual entries only. Default: never. */
                            expires_at?: string;
                            /**
                             * @description Default manual.
                             * @enum {string}
                             */
                            reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                            /**
                             * @description Default all: both streams.
                             * @enum {string}
                             */
                            stream?: "transactional" | "broadcast" | "all";
                        }[];
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** @description Entries (address and stream) that are new. */
                            added?: number;
                            /** @description The entries of the addresses as they now are. */
                            suppressions?: {
                                address?: string;
                                /**
                                 * Format: date-time
                                 * @description When the address got this reason.
                                 */
                                created_at?: string;
                                /** @description The remote server's reply or other words on why. */
                                detail?: string | null;
                                /**
                                 * Format: date-time
                                 * @description Manual entries only: when it stops applying.
                                 */
                                expires_at?: string | null;
                                /** @description The message whose bounce, complaint or unsubscribe caused the entry. */
                                message_id?: string | null;
                                /** @enum {string} */
                                reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                                /** @enum {string} */
                                stream?: "transactional" | "broadcast";
                            }[];
                            unchanged?: number;
                            /** @description Entries given a stronger reason or a later expiry. */
                            updated?: number;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/suppressions/{address}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Is this address suppressed, on which streams, and why
         * @description A 404 means Herald sends to it (on the stream given, or on both).
         */
        get: {
            parameters: {
                query?: {
                    stream?: "transactional" | "broadcast";
                };
                header?: never;
                path: {
                    /** @description The email address (URL-encoded). */
                    address: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            address?: string;
                            suppressions?: {
                                address?: string;
                                /**
                                 * Format: date-time
                                 * @description When the address got this reason.
                                 */
                                created_at?: string;
                                /** @description The remote server's reply or other words on why. */
                                detail?: string | null;
                                /**
                                 * Format: date-time
                                 * @description Manual entries only: when it stops applying.
                                 */
                                expires_at?: string | null;
                                /** @description The message whose bounce, complaint or unsubscribe caused the entry. */
                                message_id?: string | null;
                                /** @enum {string} */
                                reason?: "manual" | "soft_bounces" | "unsubscribe" | "hard_bounce" | "complaint";
                                /** @enum {string} */
                                stream?: "transactional" | "broadcast";
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /**
         * Remove an address from the list
         * @description From the stream given, or from both. Herald sends to it again, and its soft bounces start counting afresh.
         */
        delete: {
            parameters: {
                query?: {
                    stream?: "transactional" | "broadcast" | "all";
                };
                header?: never;
                path: {
                    /** @description The email address (URL-encoded). */
                    address: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** List templates, newest first */
        get: {
            parameters: {
                query?: {
                    cursor?: string;
                    limit?: string;
                };
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            next_cursor?: string | null;
                            templates?: components["schemas"]["Template"][];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /** Create a template */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description A name to send with instead of the id: lowercase letters, digits, ".", "_", "-". */
                        alias?: string | null;
                        /** @description Handlebars source; {{value}} is HTML-escaped, {{{value}}} is not. */
                        html?: string | null;
                        name?: string | null;
                        /** @description Data paths (e.g. "user.name") a send must provide; a missing one is a 422. Other missing variables render empty. */
                        required?: string[] | null;
                        /** @description Handlebars source; not HTML-escaped. */
                        subject?: string | null;
                        /** @description Handlebars source; not HTML-escaped. */
                        text?: string | null;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Template"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A template (its latest version, or ?version=N) */
        get: {
            parameters: {
                query?: {
                    version?: string;
                };
                header?: never;
                path: {
                    /** @description The template id or alias. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Template"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        /** Change a template (makes a new version; fields left out keep their value) */
        put: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The template id or alias. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        /** @description A name to send with instead of the id: lowercase letters, digits, ".", "_", "-". */
                        alias?: string | null;
                        /** @description Handlebars source; {{value}} is HTML-escaped, {{{value}}} is not. */
                        html?: string | null;
                        name?: string | null;
                        /** @description Data paths (e.g. "user.name") a send must provide; a missing one is a 422. Other missing variables render empty. */
                        required?: string[] | null;
                        /** @description Handlebars source; not HTML-escaped. */
                        subject?: string | null;
                        /** @description Handlebars source; not HTML-escaped. */
                        text?: string | null;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Template"];
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        post?: never;
        /** Delete a template */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The template id or alias. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates/{id}/render": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Preview a template with sample data
         * @description Renders the stored template (or, with `template`, unsaved changes to it) without sending anything.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The template id or alias. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        data?: Record<string, never>;
                        template?: {
                            /** @description A name to send with instead of the id: lowercase letters, digits, ".", "_", "-". */
                            alias?: string | null;
                            /** @description Handlebars source; {{value}} is HTML-escaped, {{{value}}} is not. */
                            html?: string | null;
                            name?: string | null;
                            /** @description Data paths (e.g. "user.name") a send must provide; a missing one is a 422. Other missing variables render empty. */
                            required?: string[] | null;
                            /** @description Handlebars source; not HTML-escaped. */
                            subject?: string | null;
                            /** @description Handlebars source; not HTML-escaped. */
                            text?: string | null;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            html?: string | null;
                            subject?: string | null;
                            text?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates/{id}/versions": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** Every version of a template, newest first */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The template id or alias. */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            versions?: components["schemas"]["Template"][];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates/preview": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Preview a template that is not saved, with sample data
         * @description Renders `template` (subject, html, text, required) with `data` as a send would, with the same isolated renderer; nothing is stored or sent. `html_url` serves the rendered HTML for ten minutes under a policy that lets no script run and loads nothing remote: show it in an <iframe sandbox>.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        data?: Record<string, never>;
                        template: {
                            /** @description A name to send with instead of the id: lowercase letters, digits, ".", "_", "-". */
                            alias?: string | null;
                            /** @description Handlebars source; {{value}} is HTML-escaped, {{{value}}} is not. */
                            html?: string | null;
                            name?: string | null;
                            /** @description Data paths (e.g. "user.name") a send must provide; a missing one is a 422. Other missing variables render empty. */
                            required?: string[] | null;
                            /** @description Handlebars source; not HTML-escaped. */
                            subject?: string | null;
                            /** @description Handlebars source; not HTML-escaped. */
                            text?: string | null;
                        };
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            html?: string | null;
                            /** @description The rendered HTML, inert; null without an html part. */
                            html_url?: string | null;
                            subject?: string | null;
                            text?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/templates/previews/{token}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A preview's HTML, made inert */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    token: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description text/html */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": string;
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** The account's webhook endpoints */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            webhooks?: {
                                /** Format: date-time */
                                created_at?: string;
                                /** @description The last event handled, as a pull API cursor. */
                                cursor?: string;
                                description?: string | null;
                                /** Format: date-time */
                                disabled_at?: string | null;
                                disabled_reason?: string | null;
                                enabled?: boolean;
                                /** @description ["*"] means every type. */
                                events?: string[];
                                id?: string;
                                /** @description While an event is failing: which, how many attempts, when the next is. */
                                retry?: {
                                    attempts?: number;
                                    event_id?: string;
                                    /** Format: date-time */
                                    failing_since?: string;
                                    /** Format: date-time */
                                    next_attempt_at?: string;
                                } | null;
                                /** @enum {string} */
                                status?: "active" | "failing" | "disabled";
                                /** Format: date-time */
                                updated_at?: string;
                                url?: string;
                            }[];
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        /**
         * Add a webhook endpoint
         * @description Events recorded from now on are POSTed to the URL, signed (Standard Webhooks). The answer has the signing secret — the only time it is shown.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path?: never;
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string | null;
                        enabled?: boolean;
                        /** @description Event types to send: message.accepted, message.delivered, message.deferred, message.bounced, message.expired, message.complained, message.opened, message.clicked, message.unsubscribed, message.suppressed, domain.verification_changed, webhook.disabled; ["*"] or left out for all. */
                        events?: string[] | null;
                        /** @description https:// URL to POST events to; it must reach a public address. */
                        url: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                201: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            /** @description The last event handled, as a pull API cursor. */
                            cursor?: string;
                            description?: string | null;
                            /** Format: date-time */
                            disabled_at?: string | null;
                            disabled_reason?: string | null;
                            enabled?: boolean;
                            /** @description ["*"] means every type. */
                            events?: string[];
                            id?: string;
                            /** @description While an event is failing: which, how many attempts, when the next is. */
                            retry?: {
                                attempts?: number;
                                event_id?: string;
                                /** Format: date-time */
                                failing_since?: string;
                                /** Format: date-time */
                                next_attempt_at?: string;
                            } | null;
                            /** @description The signing secret (whsec_…). Shown only now: store it. */
                            secret?: string;
                            /** @enum {string} */
                            status?: "active" | "failing" | "disabled";
                            /** Format: date-time */
                            updated_at?: string;
                            url?: string;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks/{id}": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /** A webhook endpoint and its state */
        get: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            /** @description The last event handled, as a pull API cursor. */
                            cursor?: string;
                            description?: string | null;
                            /** Format: date-time */
                            disabled_at?: string | null;
                            disabled_reason?: string | null;
                            enabled?: boolean;
                            /** @description ["*"] means every type. */
                            events?: string[];
                            id?: string;
                            /** @description While an event is failing: which, how many attempts, when the next is. */
                            retry?: {
                                attempts?: number;
                                event_id?: string;
                                /** Format: date-time */
                                failing_since?: string;
                                /** Format: date-time */
                                next_attempt_at?: string;
                            } | null;
                            /** @enum {string} */
                            status?: "active" | "failing" | "disabled";
                            /** Format: date-time */
                            updated_at?: string;
                            url?: string;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        /** Remove a webhook endpoint and its attempts */
        delete: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                204: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content?: never;
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        options?: never;
        head?: never;
        /**
         * Change a webhook endpoint
         * @description Fields left out keep their value. `enabled: true` on a disabled endpoint sends every event it missed, from where it stopped.
         */
        patch: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody: {
                content: {
                    "application/json": {
                        description?: string | null;
                        enabled?: boolean;
                        /** @description Event types to send: message.accepted, message.delivered, message.deferred, message.bounced, message.expired, message.complained, message.opened, message.clicked, message.unsubscribed, message.suppressed, domain.verification_changed, webhook.disabled; ["*"] or left out for all. */
                        events?: string[] | null;
                        /** @description https:// URL to POST events to; it must reach a public address. */
                        url?: string;
                    };
                };
            };
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            /** @description The last event handled, as a pull API cursor. */
                            cursor?: string;
                            description?: string | null;
                            /** Format: date-time */
                            disabled_at?: string | null;
                            disabled_reason?: string | null;
                            enabled?: boolean;
                            /** @description ["*"] means every type. */
                            events?: string[];
                            id?: string;
                            /** @description While an event is failing: which, how many attempts, when the next is. */
                            retry?: {
                                attempts?: number;
                                event_id?: string;
                                /** Format: date-time */
                                failing_since?: string;
                                /** Format: date-time */
                                next_attempt_at?: string;
                            } | null;
                            /** @enum {string} */
                            status?: "active" | "failing" | "disabled";
                            /** Format: date-time */
                            updated_at?: string;
                            url?: string;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        trace?: never;
    };
    "/api/v1/webhooks/{id}/attempts": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        /**
         * Delivery attempts to an endpoint, newest first
         * @description What the endpoint answered: status, latency, the first 500 bytes of the answer, and when a failed event is tried next. Kept 30 days (at most 1000 per endpoint).
         */
        get: {
            parameters: {
                query?: {
                    /** @description next_cursor of the previous page */
                    before?: string;
                    limit?: string;
                };
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            attempts?: {
                                /** Format: date-time */
                                at?: string;
                                attempt?: number;
                                error?: string | null;
                                event_id?: string;
                                event_type?: string;
                                id?: number;
                                latency_ms?: number;
                                /** Format: date-time */
                                next_retry_at?: string | null;
                                response?: string | null;
                                /** @description The HTTP status; null when there was no answer. */
                                status?: number | null;
                            }[];
                            next_cursor?: string | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        put?: never;
        post?: never;
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks/{id}/rotate-secret": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Make a new signing secret
         * @description The answer has the new secret (shown only now). For 24 hours requests carry two signatures, with the new and the old secret, so receivers can switch without missing a request.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            /** Format: date-time */
                            created_at?: string;
                            /** @description The last event handled, as a pull API cursor. */
                            cursor?: string;
                            description?: string | null;
                            /** Format: date-time */
                            disabled_at?: string | null;
                            disabled_reason?: string | null;
                            enabled?: boolean;
                            /** @description ["*"] means every type. */
                            events?: string[];
                            id?: string;
                            /** @description While an event is failing: which, how many attempts, when the next is. */
                            retry?: {
                                attempts?: number;
                                event_id?: string;
                                /** Format: date-time */
                                failing_since?: string;
                                /** Format: date-time */
                                next_attempt_at?: string;
                            } | null;
                            /** @description The signing secret (whsec_…). Shown only now: store it. */
                            secret?: string;
                            /** @enum {string} */
                            status?: "active" | "failing" | "disabled";
                            /** Format: date-time */
                            updated_at?: string;
                            url?: string;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
    "/api/v1/webhooks/{id}/test": {
        parameters: {
            query?: never;
            header?: never;
            path?: never;
            cookie?: never;
        };
        get?: never;
        put?: never;
        /**
         * Send a test event now
         * @description POSTs a signed `webhook.test` event to the endpoint (enabled or not) and answers with what it replied. Never retried.
         */
        post: {
            parameters: {
                query?: never;
                header?: never;
                path: {
                    /** @description The endpoint id (wh_…). */
                    id: string;
                };
                cookie?: never;
            };
            requestBody?: never;
            responses: {
                /** @description Default Response */
                200: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": {
                            error?: string | null;
                            event_id?: string;
                            latency_ms?: number;
                            ok?: boolean;
                            response?: string | null;
                            status?: number | null;
                        };
                    };
                };
                /** @description Default Response */
                400: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                401: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                403: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                404: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                409: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
                /** @description Default Response */
                422: {
                    headers: {
                        [name: string]: unknown;
                    };
                    content: {
                        "application/json": components["schemas"]["Error"];
                    };
                };
            };
        };
        delete?: never;
        options?: never;
        head?: never;
        patch?: never;
        trace?: never;
    };
}
export type webhooks = Record<string, never>;
export interface components {
    schemas: {
        Domain: {
            /** Format: date-time */
            checked_at?: string | null;
            /** @description The last verification, record by record. */
            checks?: {
                expected?: string;
                fix?: string;
                found?: string[];
                name?: string;
                note?: string;
                problem?: string;
                purpose?: string;
                required?: boolean;
                /** @enum {string} */
                status?: "ok" | "missing" | "wrong" | "error";
                type?: string;
            }[];
            /** Format: date-time */
            created_at?: string;
            dkim?: {
                algorithm?: string;
                selector?: string;
                /** @enum {string} */
                state?: "pending" | "active" | "retiring";
            }[];
            name?: string;
            /** @description The DNS records to publish. */
            records?: {
                name?: string;
                /** @enum {string} */
                purpose?: "dkim" | "spf" | "return-path-spf" | "return-path-mx" | "dmarc" | "tracking";
                required?: boolean;
                /** @enum {string} */
                type?: "TXT" | "MX" | "CNAME";
                value?: string;
                why?: string;
            }[];
            return_path?: string;
            /**
             * Format: date-time
             * @description For a failing domain: when it may no longer send unless fixed.
             */
            sending_stops_at?: string | null;
            /** @enum {string} */
            status?: "unverified" | "verified" | "failing";
            /** Format: date-time */
            verified_at?: string | null;
        };
        Error: {
            error?: {
                /** @description bad_request, unauthorized, forbidden, not_found, conflict, too_large, invalid, rate_limited, unavailable */
                code: string;
                column?: number;
                /** @description The request field the error is about, e.g. "to[1]" or "attachments[0].filename". */
                field?: string;
                line?: number;
                message: string;
            };
        };
        Event: {
            /** Format: date-time */
            at?: string;
            data?: Record<string, never>;
            recipient?: string | null;
            seq?: number | null;
            /** @description accepted, deferred, delivered, bounced, expired, held, released, deleted */
            type?: string;
        };
        InboundRecord: {
            /** @description The checks Herald made when the message arrived; null when they could not run (e.g. DNS failed). */
            authentication?: {
                arc?: string;
                /** @description pass when any signature verified, else the first result (none: unsigned) */
                dkim?: string;
                dmarc?: string;
                /** @description pass, fail, softfail, neutral, none, temperror, permerror */
                spf?: string;
            } | null;
            client_ip?: string;
            from?: string | null;
            helo?: string | null;
            id?: string;
            /**
             * @description dsn (a delivery status report), free_text_bounce, arf (a complaint), unsubscribe, other
             * @enum {string}
             */
            kind?: "dsn" | "free_text_bounce" | "arf" | "unsubscribe" | "other";
            /** @description The envelope sender ("" for the null sender of a bounce). */
            mail_from?: string;
            /** @description The Herald message it is about, when it named one. */
            message_id?: string | null;
            /** Format: date-time */
            received_at?: string;
            /** @description The recipient of that message it is about. */
            recipient?: string | null;
            /** @description The envelope recipients (Herald’s own addresses). */
            recipients?: string[];
            /** @description Bytes of the raw form, Authentication-Results included. */
            size?: number;
            subject?: string | null;
        };
        Message: {
            attachments?: {
                /** @description The file, base64-encoded. */
                content: string;
                /** @description Makes the attachment inline: refer to it in html as cid:<content_id>. */
                content_id?: string;
                content_type?: string;
                filename: string;
            }[];
            /** @description An address (`a@example.com` or `Name <a@example.com>`) or a list of them. */
            bcc?: string | string[];
            /** @description An address (`a@example.com` or `Name <a@example.com>`) or a list of them. */
            cc?: string | string[];
            from: string;
            /** @description Extra header fields, name → value. */
            headers?: {
                [key: string]: string;
            };
            html?: string;
            /** @description Your own key/value strings, returned with the message and its events (at most 20 keys). */
            metadata?: {
                [key: string]: string;
            };
            /** @description An address (`a@example.com` or `Name <a@example.com>`) or a list of them. */
            reply_to?: string | string[];
            /**
             * Format: date-time
             * @description Scheduled sending: no attempt before this time (at most 30 days ahead).
             */
            send_at?: string;
            /**
             * @default transactional
             * @enum {string}
             */
            stream: "transactional" | "broadcast";
            subject?: string;
            /** @description Labels for search and statistics (at most 10). */
            tags?: string[];
            /** @description Render subject, html and text from a stored template (by id or alias) with data. */
            template?: {
                alias?: string;
                data?: Record<string, never>;
                id?: string;
            };
            text?: string;
            /** @description An address (`a@example.com` or `Name <a@example.com>`) or a list of them. */
            to: string | string[];
            /** @description Click tracking: true (links in HTML parts), false, or "html_only", "text_only", "html_and_text", "none"; the account's default when left out. */
            track_links?: boolean | string;
            /** @description Open tracking (a 1×1 pixel in HTML parts); the account's default when left out. */
            track_opens?: boolean;
        };
        MessageActionResult: {
            /** @enum {string} */
            action?: "retry" | "hold" | "release" | "cancel";
            id?: string;
            /** @description How many recipients the action changed (for cancel: the pending recipients that will not be delivered). */
            recipients?: number;
            /** @description The message's status afterwards; null after cancel (the message is gone). */
            status?: string | null;
        };
        MessageBatch: {
            messages: components["schemas"]["Message"][];
        };
        MessageDetail: {
            /** Format: date-time */
            created_at?: string;
            events?: components["schemas"]["Event"][];
            /** Format: date-time */
            expires_at?: string;
            from?: string;
            id?: string;
            message_id_header?: string | null;
            metadata?: {
                [key: string]: string;
            };
            /** Format: date-time */
            next_attempt_at?: string | null;
            recipient_count?: number;
            recipients?: {
                address?: string;
                attempts?: number;
                history?: {
                    at?: string;
                    host?: string | null;
                    reply?: string;
                    state?: string;
                }[];
                last_reply?: string | null;
                /** Format: date-time */
                next_attempt_at?: string | null;
                state?: string;
            }[];
            /** Format: date-time */
            send_at?: string | null;
            size?: number;
            /** @enum {string} */
            source?: "smtp" | "api" | "dsn";
            /** @enum {string} */
            status?: "queued" | "deferred" | "delivering" | "held" | "delivered" | "bounced" | "expired" | "partial";
            stream?: string;
            subject?: string | null;
            tags?: string[];
            template?: {
                id?: string;
                version?: number;
            } | null;
            /** @description Open and click tracking as decided for the message (null: both off); skipped says why it went out untracked after all. */
            tracking?: {
                links?: string;
                opens?: boolean;
                skipped?: string;
            } | null;
        };
        MessageSummary: {
            /** Format: date-time */
            created_at?: string;
            /** Format: date-time */
            expires_at?: string;
            from?: string;
            id?: string;
            message_id_header?: string | null;
            metadata?: {
                [key: string]: string;
            };
            /** Format: date-time */
            next_attempt_at?: string | null;
            recipient_count?: number;
            /** Format: date-time */
            send_at?: string | null;
            size?: number;
            /** @enum {string} */
            source?: "smtp" | "api" | "dsn";
            /** @enum {string} */
            status?: "queued" | "deferred" | "delivering" | "held" | "delivered" | "bounced" | "expired" | "partial";
            stream?: string;
            subject?: string | null;
            tags?: string[];
            template?: {
                id?: string;
                version?: number;
            } | null;
        };
        RawMessage: {
            /** @description Envelope sender (MAIL FROM); "" for the null sender. */
            from: string;
            /** @description The complete RFC 5322 message as text. */
            message?: string;
            /** @description The complete message, base64-encoded (for 8-bit or binary content). */
            message_base64?: string;
            /** @description Your own key/value strings, returned with the message and its events (at most 20 keys). */
            metadata?: {
                [key: string]: string;
            };
            /**
             * Format: date-time
             * @description Scheduled sending: no attempt before this time (at most 30 days ahead).
             */
            send_at?: string;
            /**
             * @default transactional
             * @enum {string}
             */
            stream: "transactional" | "broadcast";
            /** @description Labels for search and statistics (at most 10). */
            tags?: string[];
            /** @description An address (`a@example.com` or `Name <a@example.com>`) or a list of them. */
            to: string | string[];
            /** @description Click tracking: true (links in HTML parts), false, or "html_only", "text_only", "html_and_text", "none"; the account's default when left out. */
            track_links?: boolean | string;
            /** @description Open tracking (a 1×1 pixel in HTML parts); the account's default when left out. */
            track_opens?: boolean;
        };
        SendResult: {
            id?: string;
            recipients?: string[];
            /** Format: date-time */
            send_at?: string;
            /** @enum {string} */
            status?: "queued" | "scheduled";
        };
        Template: {
            alias?: string | null;
            /** Format: date-time */
            created_at?: string;
            html?: string | null;
            id?: string;
            name?: string | null;
            required?: string[];
            subject?: string | null;
            text?: string | null;
            /** Format: date-time */
            updated_at?: string;
            version?: number;
        };
    };
    responses: never;
    parameters: never;
    requestBodies: never;
    headers: never;
    pathItems: never;
}
export type $defs = Record<string, never>;
export type operations = Record<string, never>;
