<?php
// PHP's SoapClient in WSDL mode against FinSMS, as PHP integrators write it.
// Prints one JSON object with everything it read.
//   php client.php <wsdl-url> <username> <password>
declare(strict_types=1);

[, $wsdl, $username, $password] = $argv;
$client = new SoapClient($wsdl, [
    'cache_wsdl' => WSDL_CACHE_NONE,
    'exceptions' => true,
    'features' => SOAP_SINGLE_ELEMENT_ARRAYS,
]);
$auth = ['username' => $username, 'password' => $password];
$out = [];

function recipient(string $nr, string $msg): stdClass
{
    $item = new stdClass();
    $item->nr = $nr;
    $item->msg = $msg;
    return $item;
}

$base = $auth + ['type' => 1, 'title' => 'PHP paketi', 'sender' => 'BASLIK', 'encoding' => 0,
                 'validity' => 60, 'commercial' => false];
$out['single'] = $client->sendSms($base + ['sendingType' => 0, 'content' => 'PHP tekil',
                                           'number' => 905511034554])->result;
$out['oneToMany'] = $client->sendSms($base + ['sendingType' => 1, 'content' => 'PHP coklu',
    'numbers' => ['item' => ['905511034554', 905433404971]]])->result;
$out['manyToMany'] = $client->sendSms($base + ['sendingType' => 2, 'content' => 'Dinamik Sms',
    'numbers' => ['item' => [recipient('905511034554', 'PHP A'),
                             recipient('905433404971', 'PHP B')]]])->result;
// Associative arrays, as most PHP integrators write N-N recipients: SoapClient sends each
// as an Apache Map (<item><key>nr</key><value>…</value></item> pairs).
$out['manyToManyArrays'] = $client->sendSms($base + ['sendingType' => 2,
    'content' => 'Dinamik Sms', 'numbers' => ['item' => [
        ['nr' => '905511034554', 'msg' => 'PHP dizi A', 'xid' => 'php-xid-a'],
        ['nr' => 905433404971, 'msg' => 'PHP dizi B']]]])->result;
$ids = [$out['single']->data->pkgID, $out['oneToMany']->data->pkgID,
        $out['manyToMany']->data->pkgID];
$out['packages'] = $client->getSmsPackages($auth + ['ids' => ['item' => $ids]])->result;
$out['items'] = $client->getSmsPackageItems($auth + ['pkgID' => $ids[2]])->result;
$out['senders'] = $client->getSmsSenders($auth)->result;
$out['credit'] = $client->getUserCredit($auth)->result;
$out['denied'] = $client->getUserCredit(['username' => $username,
                                         'password' => 'wrong-password'])->result;
$out['notFound'] = $client->cancelSmsPackage($auth + ['id' => 987654321])->result;

echo json_encode($out, JSON_UNESCAPED_UNICODE | JSON_PRESERVE_ZERO_FRACTION);
