#!/bin/sh
# One database per service, each owned by its own role (a service never reads another's tables).
set -eu
for service in routing ivr crm workorders analytics; do
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE ROLE $service LOGIN PASSWORD '$service';
CREATE DATABASE $service OWNER $service;
SQL
done
