// Runs once, on the first start of the mongo service (docker-entrypoint-initdb.d), as root:
// the application's own user, with read/write on the application database only.
const dbName = process.env.MONGODB_DB || "voice_screening";
db.getSiblingDB("admin").createUser({
  user: process.env.MONGO_APP_USERNAME,
  pwd: process.env.MONGO_APP_PASSWORD,
  roles: [{ role: "readWrite", db: dbName }],
});
