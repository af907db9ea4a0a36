# -*- coding: utf-8 -*-
# Copyright (c) 2026, vhvcorp platform team
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or
# https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later


class ModuleDocFragment:
    # The connection options of every vhvcorp.devtools MongoDB module
    # (plugins/module_utils/mongodb.py mongodb_argument_spec()).
    DOCUMENTATION = r"""
options:
  uri:
    description:
      - MongoDB connection string, C(mongodb://[user:password@]host[:port]/[?options]) or
        C(mongodb+srv://...).
      - The default is the compose stack's MongoDB published on this machine. For a
        Kubernetes cluster, port-forward the service and give the forwarded address.
      - A password in the URI is masked in all output and never appears in a message; prefer
        O(password), which is C(no_log).
    type: str
    default: mongodb://127.0.0.1:27017/
  username:
    description:
      - User to log in as. Overrides a user given in O(uri).
      - Leave out for a server without authentication (the local stack).
    type: str
  password:
    description:
      - Password of O(username). Overrides a password given in O(uri).
    type: str
  auth_source:
    description:
      - Database that holds the user's credentials (C(authSource)).
      - When left out, the database named in O(uri), else C(admin).
    type: str
  tls:
    description:
      - Connect with TLS. Implied by O(tls_ca_file) and O(tls_certificate_key_file).
    type: bool
    default: false
  tls_ca_file:
    description:
      - PEM file of the certificate authorities that signed the server's certificate
        (C(tlsCAFile)). When left out, the system's trust store is used.
    type: path
  tls_certificate_key_file:
    description:
      - PEM file with the client certificate and its private key (C(tlsCertificateKeyFile)),
        for servers that ask for one.
    type: path
  tls_allow_invalid_certificates:
    description:
      - Accept a server certificate that does not verify (C(tlsAllowInvalidCertificates)).
        For local self-signed servers only; it disables the protection TLS gives.
    type: bool
    default: false
  connect_timeout:
    description:
      - Seconds to wait for a TCP (and TLS) connection to be made (C(connectTimeoutMS)).
    type: float
    default: 10
  server_selection_timeout:
    description:
      - Seconds to wait for a usable server before failing with a message that says how to
        start it or fix O(uri) (C(serverSelectionTimeoutMS)).
    type: float
    default: 10
requirements:
  - pymongo >= 4.0 on the host that runs the module (the inventory's
    C(ansible_python_interpreter)).
notes:
  - Works with MongoDB 4.4 and later and with FerretDB 1.x (MongoDB wire protocol). The
    module pings the server before it does anything, and fails with one sentence that says
    what to do when the server is unreachable, the credentials are refused, TLS fails or
    pymongo is missing.
"""
