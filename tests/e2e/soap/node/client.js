// The npm `soap` client against FinSMS, as a Node integrator writes it: a client built
// from the WSDL, credentials in the body. Prints one JSON object with what it got.
//   node client.js <wsdl-url> <username> <password>
'use strict';
const soap = require('soap');

async function main() {
  const [wsdl, username, password] = process.argv.slice(2);
  const client = await soap.createClientAsync(wsdl);
  const auth = { username, password };
  const out = {};

  const [credit] = await client.getUserCreditAsync(auth);
  out.credit = credit.result;

  const base = { ...auth, type: 1, title: 'Node paketi', sender: 'BASLIK', encoding: 0 };
  const [single] = await client.sendSmsAsync({
    ...base, sendingType: 0, content: 'Node tekil', number: '905511034554' });
  out.single = single.result;

  const [oneToMany] = await client.sendSmsAsync({
    ...base, sendingType: 1, content: 'Node coklu',
    numbers: { item: ['905511034554', '905433404971'] } });
  out.oneToMany = oneToMany.result;

  const [manyToMany] = await client.sendSmsAsync({
    ...base, sendingType: 2, content: 'Dinamik Sms',
    numbers: { item: [{ nr: '905511034554', msg: 'Node A' }, { nr: '905433404971', msg: 'Node B' }] } });
  out.manyToMany = manyToMany.result;

  const [denied] = await client.getUserCreditAsync({ username, password: 'wrong-password' });
  out.denied = denied.result;

  const [after] = await client.getUserCreditAsync(auth);
  out.creditAfter = after.result;

  process.stdout.write(JSON.stringify(out));
}

main().catch((err) => {
  process.stderr.write(String((err && err.stack) || err));
  process.exit(1);
});
